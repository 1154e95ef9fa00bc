/** A store with two owners and their recordings, the owner page on a free port, and an HTTP client. */
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { request as httpsRequest } from 'node:https';
import type { EarshotApp } from '../../src/app/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { DeviceConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/core/logger.js';
import { openApp } from '../../src/open-app.js';
import { initDataDir, type RecordingStore } from '../../src/store/index.js';
import { AppOwnerBackend, createPairingLink, startOwnerPage, type OwnerPage, type ThrottleOptions } from '../../src/web/index.js';
import { DEVICE, makeCapture, tempDir } from '../store/helpers.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: () => any;
}

export interface RequestOptions {
  cookie?: string;
  origin?: string | null;
  csrf?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One HTTP request with full control over the headers (fetch would refuse to set Host or Origin). */
export function send(base: string, method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
  const url = new URL(path, base);
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.cookie !== undefined) headers['Cookie'] = o.cookie;
  if (o.origin !== null && method !== 'GET') headers['Origin'] = o.origin ?? base;
  if (o.csrf !== undefined) headers['X-CSRF-Token'] = o.csrf;
  if (payload) {
    headers['Content-Type'] ??= 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  const req = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = req(url, { method, headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    if (payload) r.write(payload);
    r.end();
  });
}

export interface Client {
  ownerId: string;
  cookie: string;
  csrf: string;
  sessionRef: string;
}

export interface World {
  dir: string;
  configFile: string;
  /** The application layer every page action goes through (tests read and arrange through it too). */
  app: EarshotApp;
  /** For the device's own non-personal state only (settings, outbox depth, audit log), as the CLI uses it. */
  store: RecordingStore;
  clock: { t: number; now: () => number };
  config: DeviceConfig;
  backend: AppOwnerBackend;
  page: OwnerPage;
  base: string;
  alice: string;
  bob: string;
  aliceRecordings: string[];
  bobRecordings: string[];
  pair(ownerId: string, userAgent?: string): Promise<Client>;
  close(): Promise<void>;
}

export const T0 = 1_760_000_000_000;

export async function world(
  opts: { recordings?: number; throttle?: ThrottleOptions; tls?: { cert: string; key: string }; configure?: (c: DeviceConfig) => void } = {},
): Promise<World> {
  const t = tempDir('earshot-web-');
  const clock = { t: T0, now: () => clock.t };
  const config: DeviceConfig = { ...defaultConfig(), dataDir: t.dir, device: { id: DEVICE, groups: [] } };
  opts.configure?.(config);
  await initDataDir(t.dir, { deviceId: DEVICE });
  const opened = await openApp({ config, deviceId: DEVICE, logger: silentLogger, clock });
  const { app, store } = opened;
  // For `earshot` commands run against the same data directory.
  const configFile = path.join(t.dir, 'device.json');
  writeFileSync(configFile, JSON.stringify({ configVersion: 1, device: { id: DEVICE, groups: config.device.groups }, fleet: { publicKeys: config.fleet.publicKeys } }));
  const alice = await app.addOwner({ name: 'Alice Example', source: 'test' });
  const bob = await app.addOwner({ name: 'Bob Example', source: 'test' });
  const n = opts.recordings ?? 3;
  const aliceRecordings: string[] = [];
  const bobRecordings: string[] = [];
  for (let i = 0; i < n; i++) {
    aliceRecordings.push((await app.storeCapture(alice, makeCapture({ seed: 10 + i, samples: 16000, startedAt: T0 - (n - i) * 60_000 }), { uplink: false })).recording.id);
    bobRecordings.push((await app.storeCapture(bob, makeCapture({ seed: 50 + i, samples: 8000, startedAt: T0 - (n - i) * 60_000 + 1 }), { uplink: false })).recording.id);
  }
  const backend = new AppOwnerBackend(app);
  const page = await startOwnerPage({ backend, clock, port: 0, ...(opts.throttle ? { throttle: opts.throttle } : {}), ...(opts.tls ? { tls: opts.tls } : {}) });
  const base = page.url;
  return {
    dir: t.dir,
    configFile,
    app,
    store,
    clock,
    config,
    backend,
    page,
    base,
    alice,
    bob,
    aliceRecordings,
    bobRecordings,
    async pair(ownerId, userAgent = 'Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile') {
      const { link } = await createPairingLink(backend, { baseUrl: base, ownerId, clock, source: 'owner-cli' });
      const code = link.split('#c=')[1]!;
      const r = await send(base, 'POST', '/api/pair', { body: { code }, headers: { 'User-Agent': userAgent } });
      if (r.status !== 200) throw new Error(`pairing failed: ${r.status} ${r.body.toString()}`);
      const setCookie = String(r.headers['set-cookie']);
      const cookie = setCookie.split(';')[0]!;
      const me = await send(base, 'GET', '/api/session', { cookie });
      return { ownerId, cookie, csrf: me.json().csrf, sessionRef: me.json().session };
    },
    async close() {
      await page.close();
      await opened.close();
      t.cleanup();
    },
  };
}

/** Ids of an owner's recordings, oldest first (through the app, as the owner's commands see them). */
export async function recordingIds(w: World, ownerId: string): Promise<string[]> {
  return (await w.app.listRecordings(ownerId)).map((r) => r.id);
}

/** Everything an owner page request could change, for "nothing changed" checks. */
export async function snapshot(w: World): Promise<string> {
  const owners = await w.app.listOwners();
  const per = [];
  for (const o of owners) {
    per.push({
      o,
      recordings: await w.app.listRecordings(o.id),
      consent: (await w.app.consentOf(o.id)).history,
      privacy: await w.app.localOnlyStatus(o.id),
      notices: await w.app.notices(o.id),
    });
  }
  return JSON.stringify({ per, sessions: await w.app.listSessions(), outbox: await w.store.outbox.count(), audit: await w.app.auditHead() });
}
