import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EarshotApp } from '../../src/app/index.js';
import { defaultConfig } from '../../src/config/index.js';
import type { Clock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Capture, Recording } from '../../src/core/recording.js';
import { openApp } from '../../src/open-app.js';
import { RecordingStore, initDataDir } from '../../src/store/index.js';
import { SqliteDb } from '../../src/store/sqlite.js';

/** A fresh data dir on tmpfs when available (fast), else the OS temp dir. */
export function tempDir(prefix = 'earshot-store-'): { dir: string; cleanup: () => void } {
  const base = process.env['EARSHOT_TEST_TMP'] ?? (process.platform === 'linux' ? '/dev/shm' : tmpdir());
  let dir: string;
  try {
    dir = mkdtempSync(path.join(base, prefix));
  } catch {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const DEVICE = 'dev-test-1';

export async function freshStore(dataDir: string, clockMs?: { t: number }): Promise<RecordingStore> {
  await initDataDir(dataDir, { deviceId: DEVICE });
  return RecordingStore.open({ dataDir, deviceId: DEVICE, ...(clockMs ? { clock: { now: () => clockMs.t } } : {}) });
}

/** The source tests record their operations under. */
export const TEST = { source: 'test' };

export interface TestApp {
  app: EarshotApp;
  store: RecordingStore;
  close(): Promise<void>;
}

/** An initialised data dir with the application layer on its store (as every caller uses it). */
export async function freshApp(
  dataDir: string,
  opts: { clock?: Clock; init?: boolean; privacy?: Partial<ReturnType<typeof defaultConfig>['privacy']>; genericNegatives?: () => Promise<Float32Array[]> } = {},
): Promise<TestApp> {
  if (opts.init !== false) await initDataDir(dataDir, { deviceId: DEVICE });
  const base = defaultConfig();
  return openApp({
    config: { ...base, dataDir, privacy: { ...base.privacy, ...opts.privacy } },
    deviceId: DEVICE,
    logger: silentLogger,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.genericNegatives ? { genericNegatives: opts.genericNegatives } : {}),
  });
}

/** Decrypts a recording as the store reads it (with `asOwner`: only with that owner's key). */
export function openRecording(store: RecordingStore, id: string, asOwner?: string): Promise<Recording> {
  return store.uow.read((tx) => tx.recordings.open(id, asOwner));
}

/** A capture whose samples are a recognisable pattern (seeded), optionally starting with a marker. */
export function makeCapture(opts: { seed?: number; samples?: number; marker?: Int16Array; startedAt?: number; id?: string } = {}): Capture {
  const n = opts.samples ?? 1600;
  const pcm = new Int16Array(n);
  let x = (opts.seed ?? 1) * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    pcm[i] = (x >>> 16) - 32768;
  }
  if (opts.marker) pcm.set(opts.marker.subarray(0, Math.min(opts.marker.length, n)), 0);
  return {
    id: opts.id ?? randomUUID(),
    wakeword: 'hey_jarvis',
    score: 0.93,
    startedAt: opts.startedAt ?? 1_700_000_000_000,
    wakeAtMs: 1840,
    durationMs: Math.round((n / 16000) * 1000),
    endReason: 'end-of-speech',
    pcm,
  };
}

export function samePcm(a: Int16Array, b: Int16Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Every file the store keeps data in: the metadata database's files and each owner's audio files (sorted). */
export function storeFiles(dataDir: string): string[] {
  const audio = path.join(dataDir, 'audio');
  return [
    ...readdirSync(dataDir)
      .filter((f) => f.startsWith('earshot.db'))
      .sort()
      .map((f) => path.join(dataDir, f)),
    ...(existsSync(audio) ? readdirSync(audio).sort().map((f) => path.join(audio, f)) : []),
  ];
}

/**
 * Tampering as an attacker with file access would do it: through a second, raw connection to one of the store's
 * files (default the metadata database), never through the store.
 */
export async function tamper(dir: string, fn: (db: SqliteDb) => Promise<unknown>, file = 'earshot.db'): Promise<void> {
  const db = await SqliteDb.open(path.join(dir, file));
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}
