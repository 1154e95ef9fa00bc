/**
 * Store benchmark: seal+insert and open+read of a 5-s recording, export of one owner's 1,700 recordings out of
 * a 17,000-recording store, and crypto-shredding that owner. Runs on the real disk (os.tmpdir()), not tmpfs.
 *
 * Fill: the requester's 1,700 recordings are full 5-s captures (160 KB each, what is exported and shredded);
 * the other 15,300 are 1-s captures by default so the store builds in reasonable time (~0.75 GB instead of
 * 2.7 GB). EARSHOT_BENCH_FULL=1 makes every recording 5 s. The output says which fill was used.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SAMPLE_RATE } from '../core/index.js';
import type { Capture } from '../core/index.js';
import { defaultConfig } from '../config/index.js';
import { silentLogger } from '../core/index.js';
import { openApp } from '../open-app.js';
import { RecordingStore, initDataDir } from '../store/index.js';

const DEVICE = 'bench-device';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Speech-like noise: not compressible, so the numbers are honest about I/O. */
function pcmOf(seconds: number): Int16Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const bytes = randomBytes(n * 2);
  return new Int16Array(bytes.buffer, bytes.byteOffset, n);
}

let seq = 0;
function capture(pcm: Int16Array, startedAt: number): Capture {
  return {
    id: `bench-${++seq}-${randomBytes(4).toString('hex')}`,
    wakeword: 'hey_jarvis',
    score: 0.9,
    startedAt,
    wakeAtMs: 0,
    durationMs: (pcm.length / SAMPLE_RATE) * 1000,
    endReason: 'end-of-speech',
    pcm,
  };
}

async function filesBytes(dir: string, include: (name: string) => boolean): Promise<number> {
  let total = 0;
  for (const f of await fs.readdir(dir)) if (include(f)) total += (await fs.stat(path.join(dir, f))).size;
  return total;
}

export async function benchStore(opts: { log?: (l: string) => void } = {}): Promise<Record<string, number>> {
  const log = opts.log ?? (() => undefined);
  const full = process.env['EARSHOT_BENCH_FULL'] === '1';
  const total = Number(process.env['EARSHOT_BENCH_RECORDINGS'] ?? 17_000);
  const requesterCount = Math.round(total / 10);
  const otherSeconds = full ? 5 : 1;
  const dir = mkdtempSync(path.join(tmpdir(), 'earshot-bench-store-'));
  const results: Record<string, number> = {};
  try {
    await initDataDir(dir, { deviceId: DEVICE });
    const { app, close } = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId: DEVICE, logger: silentLogger });
    const origin = { source: 'bench' };
    try {
      const owners: string[] = [];
      for (let i = 0; i < 10; i++) owners.push(await app.addOwner({ name: `Bench Owner ${i}`, ...origin }));
      const requester = owners[0]!;
      const fiveSec = pcmOf(5);
      const otherPcm = pcmOf(otherSeconds);

      // 1. Seal + insert of a 5-s recording, each its own transaction (as the daemon does).
      const insertMs: number[] = [];
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) {
        const c = capture(fiveSec, 1_700_000_000_000 + i);
        const t0 = performance.now();
        await app.storeCapture(requester, c, { uplink: false });
        insertMs.push(performance.now() - t0);
        ids.push(c.id);
      }
      results['store.insertMsMedian'] = median(insertMs);
      log(`store: seal+insert 5-s recording: median ${results['store.insertMsMedian'].toFixed(2)} ms (200 inserts)`);

      // 2. Open + read back (decrypt, verify AAD and content hash).
      const readMs: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        await app.deps.uow.read((tx) => tx.recordings.open(ids[i]!, requester));
        readMs.push(performance.now() - t0);
      }
      results['store.readMsMedian'] = median(readMs);
      log(`store: open+read 5-s recording: median ${results['store.readMsMedian'].toFixed(2)} ms`);

      // 3. Fill to `total` recordings: requester's remaining at 5 s, interleaved with the other owners'.
      log(`store: filling ${total} recordings (requester ${requesterCount} × 5 s, others ${total - requesterCount} × ${otherSeconds} s${full ? '' : '; EARSHOT_BENCH_FULL=1 for all 5 s'})…`);
      const t0 = performance.now();
      let made = 200;
      let requesterMade = 200;
      while (made < total) {
        const forRequester = requesterMade < requesterCount && made % 10 === 0;
        const owner = forRequester ? requester : owners[1 + (made % 9)]!;
        await app.storeCapture(owner, capture(forRequester ? fiveSec : otherPcm, 1_700_000_000_000 + made), { uplink: false });
        if (forRequester) requesterMade++;
        made++;
        if (made % 2000 === 0) log(`store: … ${made}/${total}`);
      }
      while (requesterMade < requesterCount) {
        await app.storeCapture(requester, capture(fiveSec, 1_700_000_000_000 + made++), { uplink: false });
        requesterMade++;
      }
      const metaBytes = await filesBytes(dir, (f) => f.startsWith('earshot.db'));
      const audioBytes = await filesBytes(path.join(dir, 'audio'), () => true);
      const dbBytes = metaBytes + audioBytes;
      results['store.fillS'] = (performance.now() - t0) / 1000;
      results['store.recordings'] = made;
      results['store.dbMb'] = dbBytes / 1e6;
      results['store.metaDbMb'] = metaBytes / 1e6;
      log(
        `store: filled ${made} recordings in ${results['store.fillS'].toFixed(1)} s ` +
          `(${results['store.dbMb'].toFixed(0)} MB: metadata database ${results['store.metaDbMb'].toFixed(1)} MB, 10 owners' audio files)`,
      );

      // What every `earshot` command pays to open this store (key checks, migrations check, audio reconcile).
      const to = performance.now();
      const second = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE });
      results['store.openMs'] = performance.now() - to;
      await second.close();
      log(`store: opening the ${made}-recording store (as each command does): ${results['store.openMs'].toFixed(0)} ms`);

      // 4. Export the requester's recordings (tar; every item opened as the requester).
      const out = path.join(dir, 'export.tar');
      const te = performance.now();
      const r = await app.exportOwner({ ownerId: requester, out, ...origin });
      results['store.exportS'] = (performance.now() - te) / 1000;
      results['store.exportRecordings'] = r.recordings;
      results['store.exportMb'] = r.bytes / 1e6;
      log(`store: export of ${r.recordings} recordings (${results['store.exportMb'].toFixed(0)} MB tar) out of ${made}: ${results['store.exportS'].toFixed(2)} s`);
      await fs.rm(out);

      // 5. Crypto-shred the requester: key destroyed + device key rotated, rows deleted, audio file removed,
      // metadata WAL checkpointed and vacuumed. shredKeyS: until the owner is unreadable and gone from the
      // tables (committed); shredS: the whole `earshot erase`, including giving the space back.
      const ts = performance.now();
      await app.eraseOwner(requester, origin, { onShredded: () => (results['store.shredKeyS'] = (performance.now() - ts) / 1000) });
      results['store.shredS'] = (performance.now() - ts) / 1000;
      log(
        `store: crypto-shred of that owner (${r.recordings} recordings): ${results['store.shredS'].toFixed(2)} s ` +
          `(unreadable and deleted after ${(results['store.shredKeyS'] ?? NaN).toFixed(2)} s; then the audio file is removed and the metadata vacuumed)`,
      );
    } finally {
      await close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
