/**
 * `npm run demo`: the whole job end to end with embedded defaults, in a temporary data directory and on an
 * embedded MQTT broker (aedes; the production broker is Mosquitto, see device-config/mosquitto/).
 *
 * It replays a committed scenario (test/fixtures/scenario.wav: background talk with a 1 kHz marker tone, a
 * wake phrase + command, a near miss, more talk, a second wake phrase + command) through the real daemon
 * and drives the real `earshot` commands, printing a timeline of what happened and what was proven.
 */
import { existsSync, promises as fs } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { longestToneMs } from '../audio/index.js';
import { readWavFile } from '../audio/index.js';
import { runCli } from '../cli/index.js';
import type { CommandIO } from '../cli/index.js';
import { describeEvent } from '../cli/index.js';
import { defaultConfig } from '../config/index.js';
import type { DeviceConfig } from '../config/index.js';
import { systemClock } from '../core/index.js';
import { createLogger } from '../core/index.js';
import { runDaemon, type DaemonEvent } from '../daemon/index.js';
import { RecordingStore } from '../store/index.js';
import { readRecordingMeta, recordingIdFromTopic } from '../uplink/index.js';
import { openApp } from '../open-app.js';
import { AppOwnerBackend, createPairingLink, startOwnerPage, type OwnerPage } from '../web/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCENARIO = path.join(ROOT, 'test', 'fixtures', 'scenario.wav');
const SCENARIO_INFO = path.join(ROOT, 'test', 'fixtures', 'scenario.json');
const COMMAND_CLIP = path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav');

/** `npm run demo -- --serve`: keep the owner's page running at the end (Ctrl-C stops it). */
const SERVE = process.argv.includes('--serve');
const useColor = process.stdout.isTTY === true && !process.env['NO_COLOR'];
const c = (code: string, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(s + '\n');
const heading = (s: string) => say('\n' + c('1;36', `── ${s} ──`));
const ok = (s: string) => say(c('32', '  ✔ ') + s);
const bad = (s: string) => say(c('31', '  ✘ ') + s);

let failures = 0;
function check(cond: boolean, good: string, wrong: string): void {
  if (cond) ok(good);
  else {
    failures++;
    bad(wrong);
  }
}

interface Segment {
  kind: string;
  startMs: number;
  endMs: number;
  text: string;
  marker?: { startMs: number; endMs: number; hz: number };
}

/** Runs an `earshot` command in-process, echoing it like a shell session; returns stdout. */
async function earshot(dataDir: string, configFile: string, argv: string[], opts: { quiet?: boolean; expectFail?: boolean } = {}): Promise<string> {
  let out = '';
  let err = '';
  const io: CommandIO = {
    stdout: { write: (s: string) => ((out += s), true) } as unknown as CommandIO['stdout'],
    stderr: { write: (s: string) => ((err += s), true) } as unknown as CommandIO['stderr'],
    stdin: process.stdin,
    env: {},
    signal: new AbortController().signal,
  };
  const code = await runCli([...argv, '--data-dir', dataDir, '--config', configFile], io);
  say(c('2', `  $ earshot ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`));
  if (!opts.quiet) for (const line of out.trimEnd().split('\n').filter(Boolean)) say(c('2', `    ${line}`));
  if (err.trim()) for (const line of err.trimEnd().split('\n')) say(c(opts.expectFail ? '33' : '31', `    ${line}`));
  if ((code !== 0) !== (opts.expectFail ?? false)) {
    failures++;
    bad(`earshot ${argv[0]} exited ${code}`);
  }
  return out;
}

async function startBroker(): Promise<{ url: string; received: { id: string; bytes: number; wakeword?: string; durationMs?: number }[]; statuses: string[]; close: () => Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const received: { id: string; bytes: number; wakeword?: string; durationMs?: number }[] = [];
  const statuses: string[] = [];
  aedes.on('publish', (packet) => {
    const id = recordingIdFromTopic(packet.topic);
    if (id && !received.some((r) => r.id === id)) {
      const meta = readRecordingMeta((packet as unknown as { properties?: Parameters<typeof readRecordingMeta>[0] }).properties);
      received.push({ id, bytes: packet.payload.length, ...(meta?.wakeword ? { wakeword: meta.wakeword } : {}) });
      say(c('35', `  ☁ cloud subscriber received recording ${id.slice(0, 8)}… (${(packet.payload.length / 1024).toFixed(0)} KiB) on ${packet.topic.replace(id, '{id}')}`));
    }
    if (packet.topic.endsWith('/status')) statuses.push(packet.payload.toString());
  });
  const server: Server = createServer(aedes.handle as unknown as (s: Socket) => void);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    received,
    statuses,
    close: () => new Promise<void>((r) => aedes.close(() => server.close(() => r()))),
  };
}

async function replay(config: DeviceConfig, input: string, label: string): Promise<DaemonEvent[]> {
  const events: DaemonEvent[] = [];
  say(c('2', `  $ earshot run --input ${path.relative(ROOT, input)}   (${label})`));
  await runDaemon({
    config,
    input,
    logger: createLogger({ level: 'error' }),
    mqttProtocolVersion: 4, // aedes speaks MQTT 3.1.1; production uses MQTT 5 on Mosquitto
    onEvent: (e) => {
      events.push(e);
      if (e.type !== 'stopped') say('    ' + describeEvent(e));
    },
  });
  return events;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-demo-'));
  const dataDir = path.join(work, 'data');
  const broker = await startBroker();
  let web: Awaited<ReturnType<typeof startDemoPage>> | undefined;
  try {
    say(c('1', 'Earshot demo') + c('2', `  (data dir ${dataDir}, embedded broker ${broker.url})`));

    // ── set-up: a fleet key pair, a device config that pins it, the data directory, two owners.
    heading('Set-up: device, fleet key, two owners');
    const configFile = path.join(work, 'device.json');
    await fs.writeFile(configFile, JSON.stringify({ configVersion: 1, device: { id: 'spk-demo', groups: ['kitchen'] } }));
    await earshot(dataDir, configFile, ['fleet', 'keygen', '--out', path.join(work, 'fleet')]);
    await earshot(dataDir, configFile, ['fleet', 'keygen', '--out', path.join(work, 'forger')], { quiet: true });
    const fleetPub = await fs.readFile(path.join(work, 'fleet', 'fleet-public.pem'), 'utf8');
    const configDoc = {
      configVersion: 1,
      device: { id: 'spk-demo', groups: ['kitchen'] },
      uplink: { brokerUrl: broker.url, reconnectMinMs: 100, reconnectMaxMs: 1000 },
      fleet: { publicKeys: [fleetPub] },
      log: { level: 'error' },
    };
    await fs.writeFile(configFile, JSON.stringify(configDoc, null, 2));
    await earshot(dataDir, configFile, ['init']);
    const alice = (await earshot(dataDir, configFile, ['owners', 'add', '--name', 'Alice Example'])).trim();
    const bob = (await earshot(dataDir, configFile, ['owners', 'add', '--name', 'Bob Example'])).trim();
    await earshot(dataDir, configFile, ['owners', 'use', alice]);
    const { loadConfig } = await import('../config/index.js');
    const config = await loadConfig(configFile, { dataDir });

    // ── 1. The scenario, with no consent: wake words found, background ignored, nothing from before kept.
    heading('1. Background talk, a marker tone, two wake phrases, a near miss (no consent yet)');
    const info = JSON.parse(await fs.readFile(SCENARIO_INFO, 'utf8')) as { segments: Segment[] };
    for (const s of info.segments) {
      say(c('2', `    scenario ${(s.startMs / 1000).toFixed(1).padStart(5)}–${(s.endMs / 1000).toFixed(1).padEnd(5)}s ${s.kind.padEnd(17)} "${s.text}"${s.marker ? ` + 1 kHz marker at ${(s.marker.startMs / 1000).toFixed(1)} s` : ''}`));
    }
    const events = await replay(config, SCENARIO, 'as fast as possible');
    const wakes = events.filter((e): e is Extract<DaemonEvent, { type: 'wake' }> => e.type === 'wake');
    const captured = events.filter((e): e is Extract<DaemonEvent, { type: 'captured' }> => e.type === 'captured');
    const wakeSegs = info.segments.filter((s) => s.kind === 'wake');
    const nearMiss = info.segments.find((s) => s.kind === 'nearmiss');
    const inSeg = (ms: number, s: Segment, slackMs = 1500) => ms >= s.startMs && ms <= s.endMs + slackMs;
    check(
      wakes.length === wakeSegs.length && wakeSegs.every((s) => wakes.some((w) => inSeg(w.atMs, s))),
      `both wake phrases detected (at ${wakes.map((w) => (w.atMs / 1000).toFixed(2) + ' s').join(', ')})`,
      `expected ${wakeSegs.length} wake events in the wake phrases, got ${wakes.map((w) => w.atMs).join(', ')}`,
    );
    check(
      wakes.every((w) => wakeSegs.some((s) => inSeg(w.atMs, s))) && !(nearMiss && wakes.some((w) => inSeg(w.atMs, nearMiss, 0))),
      'background talk and the near miss ("hey travis") ignored',
      'a wake event fired outside the wake phrases',
    );
    check(broker.received.length === 0, 'no consent → nothing was sent to the cloud', `${broker.received.length} recordings were sent without consent`);

    // Prove it: decrypt every stored capture and look for the marker tone; check where each capture starts.
    const marker = info.segments.find((s) => s.marker)?.marker;
    {
      const store = await RecordingStore.open({ dataDir, deviceId: 'spk-demo' });
      try {
        let worst = 0;
        for (const cap of captured) {
          const rec = await store.uow.read((tx) => tx.recordings.open(cap.recordingId));
          worst = Math.max(worst, marker ? longestToneMs(rec.pcm, marker.hz) : 0);
        }
        const source = await readWavFile(SCENARIO);
        const inSource = marker ? longestToneMs(source.pcm16k.subarray(Math.round(marker.startMs * 16) - 1600, Math.round(marker.endMs * 16) + 1600), marker.hz) : 0;
        check(
          captured.length === wakes.length && marker !== undefined && inSource >= 300 && worst === 0,
          `nothing kept from before the wake word: the ${marker?.hz ?? '?'} Hz marker (${inSource} ms audible in the input at ${((marker?.startMs ?? 0) / 1000).toFixed(1)} s) appears in none of the ${captured.length} decrypted captures`,
          `marker check failed (captures ${captured.length}, marker in input ${inSource} ms, in captures ${worst} ms)`,
        );
        for (const cap of captured) say(c('2', `    capture ${cap.recordingId.slice(0, 8)}… starts at ${(cap.atMs / 1000).toFixed(2)} s, right after the wake word, and lasts ${(cap.durationMs / 1000).toFixed(2)} s`));
      } finally {
        await store.close();
      }
    }

    // ── 2. Consent: only what is captured after the grant leaves the device.
    heading('2. Alice grants consent for cloud processing');
    await earshot(dataDir, configFile, ['consent', 'grant', '--purpose', 'cloud-processing']);
    const before = broker.received.length;
    await replay(config, COMMAND_CLIP, '"hey jarvis" + a command');
    check(broker.received.length === before + 1, 'the next command was uploaded (and only it: earlier recordings were captured without consent)', `expected 1 upload, got ${broker.received.length - before}`);

    // ── 3. Local-only.
    heading('3. Alice turns local-only mode on');
    await earshot(dataDir, configFile, ['local-only', 'on']);
    const before3 = broker.received.length;
    await replay(config, COMMAND_CLIP, '"hey jarvis" + a command');
    check(broker.received.length === before3, 'local-only → nothing sent, although consent is granted', 'a recording was sent in local-only mode');

    // ── 4. Fleet: a stricter retention is applied, a forged document is refused.
    heading('4. The fleet manager pushes a stricter retention; a forger pushes a looser one');
    const stricter = path.join(work, 'stricter.json');
    await fs.writeFile(stricter, JSON.stringify({ privacy: { maxRetentionDays: 7 }, wake: { threshold: 0.5 } }));
    await earshot(dataDir, configFile, ['fleet', 'sign', '--key', path.join(work, 'fleet', 'fleet-private.pem'), '--in', stricter, '--target', 'group:kitchen', '--version', '1', '--out', path.join(work, 'stricter.signed.json')], { quiet: true });
    await earshot(dataDir, configFile, ['fleet', 'push', '--broker', broker.url, '--protocol', '4', path.join(work, 'stricter.signed.json')]);
    const forged = path.join(work, 'forged.json');
    await fs.writeFile(forged, JSON.stringify({ privacy: { maxRetentionDays: 3650 } }));
    await earshot(dataDir, configFile, ['fleet', 'sign', '--key', path.join(work, 'forger', 'fleet-private.pem'), '--in', forged, '--target', 'device:spk-demo', '--version', '99', '--out', path.join(work, 'forged.signed.json')], { quiet: true });
    await earshot(dataDir, configFile, ['fleet', 'push', '--broker', broker.url, '--protocol', '4', path.join(work, 'forged.signed.json')]);
    const events4 = await replay(config, COMMAND_CLIP, 'the daemon picks up the retained documents');
    const fleetEvents = events4.filter((e): e is Extract<DaemonEvent, { type: 'fleet' }> => e.type === 'fleet');
    check(fleetEvents.some((e) => e.result === 'applied' && e.version === 1), 'stricter retention (7 days) applied', 'the signed stricter document was not applied');
    check(fleetEvents.some((e) => e.result === 'refused' && e.version === 99), `forged document refused (${fleetEvents.find((e) => e.result === 'refused')?.reason ?? '?'})`, 'the forged document was not refused');
    await earshot(dataDir, configFile, ['status']);

    // ── 5. Bob's turn, then an access request for Alice: only hers.
    heading("5. Bob uses the speaker; Alice asks for her data (GDPR Art. 15)");
    await earshot(dataDir, configFile, ['owners', 'use', bob]);
    await replay(config, COMMAND_CLIP, 'Bob says "hey jarvis" + a command');
    const bundle = path.join(work, 'alice-export');
    await earshot(dataDir, configFile, ['export', '--owner', alice, '--out', bundle]);
    const manifest = JSON.parse(await fs.readFile(path.join(bundle, 'manifest.json'), 'utf8')) as { owner: { id: string }; recordings: { id: string; ownerId?: string }[] };
    const aliceList = JSON.parse(await earshot(dataDir, configFile, ['recordings', 'list', '--owner', alice, '--json'], { quiet: true })) as { id: string }[];
    const bobList = JSON.parse(await earshot(dataDir, configFile, ['recordings', 'list', '--owner', bob, '--json'], { quiet: true })) as { id: string }[];
    const exported = new Set(manifest.recordings.map((r) => r.id));
    check(
      manifest.owner.id === alice && aliceList.every((r) => exported.has(r.id)) && exported.size === aliceList.length && bobList.every((r) => !exported.has(r.id)),
      `the export holds exactly Alice's ${exported.size} recordings and none of Bob's ${bobList.length}`,
      'the export is not exactly Alice\'s recordings',
    );

    // ── 5b. The owners' own page: each session sees only its owner's recordings.
    heading("5b. The owners' page: Alice and Bob pair their phones; each sees only their own recordings");
    web = await startDemoPage(config, dataDir, SERVE ? 8440 : 0);
    const aliceWeb = await web.pair(alice);
    const bobWeb = await web.pair(bob);
    const aliceSees = (await web.get(aliceWeb, '/api/recordings?page=0')).json as { total: number; items: { id: string }[] };
    const bobSees = (await web.get(bobWeb, '/api/recordings?page=0')).json as { items: { id: string }[] };
    const aliceIds = new Set(aliceList.map((r) => r.id));
    check(
      aliceSees.total === aliceList.length && aliceSees.items.every((r) => aliceIds.has(r.id)) && !aliceSees.items.some((r) => bobList.some((b) => b.id === r.id)),
      `over HTTP, Alice's session lists her ${aliceSees.total} recordings and none of Bob's`,
      `Alice's session listed ${JSON.stringify(aliceSees.items.map((r) => r.id))}`,
    );
    const probe = aliceList[0]!.id;
    const bobProbe = await web.get(bobWeb, `/api/recordings/${probe}/audio`);
    const neverProbe = await web.get(bobWeb, '/api/recordings/no-such-recording/audio');
    check(
      bobSees.items.every((r) => !aliceIds.has(r.id)) && bobProbe.status === 404 && bobProbe.body === neverProbe.body,
      "Bob's session sees none of Alice's; asking for one of her recordings by id answers 404, exactly like an id that never existed",
      `Bob's session got ${bobProbe.status} for Alice's recording`,
    );
    const crossSite = await web.post(aliceWeb, '/api/privacy/local-only', { on: false }, 'http://evil.example');
    check(crossSite.status === 403, "a cross-origin request with Alice's cookie is refused (403)", `a cross-origin request answered ${crossSite.status}`);
    const personLink = await web.link(alice);
    say(c('2', `    for a person: open ${personLink} (Alice, works once for 10 minutes${SERVE ? '' : ', while the demo runs; `npm run demo -- --serve` keeps the page up'})`));

    // ── 6. Erasure, then the audit log: verifies, and a tampered copy does not.
    heading('6. Bob erases his data; the audit log is verified, then tampered with');
    await earshot(dataDir, configFile, ['erase', '--owner', bob, '--yes']);
    const bobAfterErase = await web.get(bobWeb, '/api/session');
    check(bobAfterErase.status === 401, "erasing Bob ended his page session (401)", `Bob's session still answers ${bobAfterErase.status}`);
    const bobAfter = await earshot(dataDir, configFile, ['recordings', 'list', '--owner', bob, '--json'], { quiet: true, expectFail: true });
    check(bobAfter.trim() === '' || bobAfter.trim() === '[]', "Bob's recordings and key are gone (crypto-shredded)", "Bob's recordings are still listed");
    const bobAudio = path.join(dataDir, 'audio', `${bob}.db`);
    check(!existsSync(bobAudio), "Bob's audio file is removed from the device", `${bobAudio} still exists`);
    await earshot(dataDir, configFile, ['audit', 'verify']);
    const tampered = path.join(work, 'tampered');
    await fs.cp(dataDir, tampered, { recursive: true });
    await tamperAuditCopy(tampered);
    await earshot(tampered, configFile, ['audit', 'verify'], { expectFail: true });
    ok('the tampered copy fails verification');

    heading('Done');
    say(`  ${failures === 0 ? c('32', 'every promise held') : c('31', `${failures} check(s) failed`)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (SERVE) {
      say(`\n  The owner's page keeps running at ${web.page.url} (this device only). Pair Alice's browser with:\n    ${await web.link(alice)}\n  Ctrl-C stops it.`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await web?.close();
    await broker.close();
    await fs.rm(work, { recursive: true, force: true });
  }
  process.exitCode = failures === 0 ? 0 : 1;
}

interface WebClient {
  cookie: string;
  csrf: string;
}

/** The owner page on the demo's data directory, with a tiny HTTP client that behaves like the page's own script. */
async function startDemoPage(config: DeviceConfig, dataDir: string, port: number) {
  // The application layer the CLI and the daemon use, opened on the demo's data directory.
  const opened = await openApp({ config: { ...config, dataDir }, deviceId: 'spk-demo', logger: createLogger({ level: 'error' }), clock: systemClock });
  const clock = opened.app.deps.clock;
  const backend = new AppOwnerBackend(opened.app);
  let page: OwnerPage;
  try {
    page = await startOwnerPage({ backend, clock, port });
  } catch (e) {
    await opened.close();
    throw e;
  }
  const base = page.url;
  const link = async (ownerId: string) => (await createPairingLink(backend, { baseUrl: base, ownerId, clock, source: 'owner-cli' })).link;
  const request = async (method: string, path: string, opts: { cookie?: string; csrf?: string; body?: unknown; origin?: string } = {}) => {
    const r = await fetch(base + path, {
      method,
      headers: {
        ...(opts.cookie ? { Cookie: opts.cookie } : {}),
        ...(method === 'POST' ? { Origin: opts.origin ?? base, 'Content-Type': 'application/json' } : {}),
        ...(opts.csrf ? { 'X-CSRF-Token': opts.csrf } : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const body = await r.text();
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    return { status: r.status, body, json, setCookie: r.headers.get('set-cookie') };
  };
  return {
    page,
    link,
    async pair(ownerId: string): Promise<WebClient> {
      const code = (await link(ownerId)).split('#c=')[1]!;
      const r = await request('POST', '/api/pair', { body: { code } });
      if (r.status !== 200 || !r.setCookie) throw new Error(`pairing in the demo failed: ${r.status} ${r.body}`);
      const cookie = r.setCookie.split(';')[0]!;
      const me = (await request('GET', '/api/session', { cookie })).json as { csrf: string };
      return { cookie, csrf: me.csrf };
    },
    get: (cl: WebClient, path: string) => request('GET', path, { cookie: cl.cookie }),
    post: (cl: WebClient, path: string, body: unknown, origin?: string) => request('POST', path, { cookie: cl.cookie, csrf: cl.csrf, body, ...(origin ? { origin } : {}) }),
    async close() {
      await page.close();
      await opened.close();
    },
  };
}

/** Edits one audit entry in a copy of the database, as an attacker with file access would. */
async function tamperAuditCopy(dir: string): Promise<void> {
  const sqlite3 = (await import('sqlite3')).default;
  const db = new sqlite3.Database(path.join(dir, 'earshot.db'));
  await new Promise<void>((resolve, reject) =>
    db.run("UPDATE audit SET type = 'recording.played' WHERE seq = (SELECT MIN(seq) + 2 FROM audit)", (e) => (e ? reject(e) : resolve())),
  );
  await new Promise<void>((resolve) => db.close(() => resolve()));
  say(c('2', '  (changed the type of one audit entry directly in a copy of the database)'));
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
