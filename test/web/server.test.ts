/**
 * The owner page's behaviour over HTTP: headers, start-up errors, TLS and its fingerprint, pairing (single
 * use, expiry, slow-down, lock-out and the owners' notice), sessions (hashed, idle expiry, sign-out, ended by
 * erasure and transfer), and what each owner feature does to the store and the audit log.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { EarshotError } from '../../src/core/errors.js';
import { FleetConfigReceiver } from '../../src/fleet/index.js';
import { decryptBundleFile } from '../../src/privacy/export/bundle-cipher.js';
import { PAIRING_TTL_MS, SESSION_IDLE_MS, AppOwnerBackend, createPairingLink, loadTls, makeDeviceCert, startOwnerPage } from '../../src/web/index.js';
import { readTar } from '../export/tar-read.js';
import { makeKeys, signed } from '../fleet/helpers.js';
import { DEVICE, makeCapture, tempDir } from '../store/helpers.js';
import { recordingIds, send, world, type World } from './helpers.js';

const STATIC = path.resolve(__dirname, '../../src/web/static');

describe('owner page server', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('sends the strict headers on every kind of answer, and a HttpOnly SameSite=Strict cookie', async () => {
    w = await world({ recordings: 1 });
    const a = await w.pair(w.alice);
    const answers = [
      await send(w.base, 'GET', '/'),
      await send(w.base, 'GET', '/assets/app.js'),
      await send(w.base, 'GET', '/api/recordings', { cookie: a.cookie }),
      await send(w.base, 'GET', `/api/recordings/${w.aliceRecordings[0]}/audio`, { cookie: a.cookie }),
      await send(w.base, 'GET', '/api/recordings', {}),
      await send(w.base, 'GET', '/nothing-here'),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 401, 404]);
    for (const r of answers) {
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['cache-control']).toBe('no-store');
    }
    expect(answers[3]!.headers['content-type']).toBe('audio/wav');
    expect(answers[3]!.body.subarray(0, 4).toString()).toBe('RIFF');
    const pairReply = await (async () => {
      const { link } = await createPairingLink(w!.backend, { baseUrl: w!.base, ownerId: w!.bob, clock: w!.clock, source: 'owner-cli' });
      return send(w!.base, 'POST', '/api/pair', { body: { code: link.split('#c=')[1] } });
    })();
    const cookie = String(pairReply.headers['set-cookie']);
    expect(cookie).toMatch(/^earshot-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=2592000$/);
  });

  it('ships every asset itself: no inline script, no handler attributes, nothing fetched from elsewhere', () => {
    const html = readFileSync(path.join(STATIC, 'index.html'), 'utf8');
    for (const m of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(m[1]).toMatch(/src="\/assets\//);
      expect(m[2]!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
    for (const f of readdirSync(STATIC)) {
      const text = readFileSync(path.join(STATIC, f), 'utf8');
      // The only absolute URL allowed is the SVG namespace (an identifier, never fetched).
      expect(text.replace('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\/|\/\/[a-z0-9-]+\.[a-z]/i);
    }
  });

  it('start-up errors: LAN address without TLS, port in use, unreadable or mismatched certificate', async () => {
    w = await world({ recordings: 0 });
    const base = { backend: w.backend, clock: w.clock };
    await expect(startOwnerPage({ ...base, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'WEB_TLS', message: expect.stringContaining('earshot web cert') });
    await expect(startOwnerPage({ ...base, port: w.page.port })).rejects.toMatchObject({ code: 'WEB_LISTEN', message: expect.stringContaining('already in use') });
    await expect(loadTls(path.join(w.dir, 'missing.pem'), path.join(w.dir, 'missing-key.pem'))).rejects.toMatchObject({
      code: 'WEB_TLS',
      message: expect.stringContaining('missing.pem cannot be read'),
    });
    const a = await makeDeviceCert(path.join(w.dir, 'a'));
    const b = await makeDeviceCert(path.join(w.dir, 'b'));
    await expect(loadTls(a.certFile, path.join(w.dir, 'b', 'web-key.pem'))).rejects.toMatchObject({ code: 'WEB_TLS', message: expect.stringContaining('is not the key of') });
    writeFileSync(path.join(w.dir, 'junk.pem'), 'not a certificate');
    await expect(loadTls(path.join(w.dir, 'junk.pem'), b.certFile)).rejects.toMatchObject({ code: 'WEB_TLS', message: expect.stringContaining('junk.pem is not a PEM certificate') });
    await expect(makeDeviceCert(path.join(w.dir, 'a'))).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('--replace') });
  });

  it('over TLS: the device certificate is served with the fingerprint the owner is shown; the cookie is Secure', async () => {
    const t = tempDir('earshot-web-tls-');
    try {
      const tls = await makeDeviceCert(t.dir);
      expect((await fs.stat(path.join(t.dir, 'web-key.pem'))).mode & 0o777).toBe(0o600);
      w = await world({ recordings: 1, tls: { cert: tls.cert, key: tls.key } });
      expect(w.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const served = await new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: w!.page.port, rejectUnauthorized: false }, () => {
          resolve(s.getPeerCertificate().fingerprint256);
          s.end();
        });
        s.on('error', reject);
      });
      expect(served).toBe(tls.fingerprint256);
      const { link } = await createPairingLink(w.backend, { baseUrl: w.base, ownerId: w.alice, clock: w.clock, source: 'owner-cli' });
      const r = await send(w.base, 'POST', '/api/pair', { body: { code: link.split('#c=')[1] } });
      expect(r.status).toBe(200);
      expect(String(r.headers['set-cookie'])).toMatch(/^__Host-earshot-session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
      // The plain-HTTP cookie name is not accepted over TLS (it could have been set without Secure).
      const cookie = String(r.headers['set-cookie']).split(';')[0]!;
      expect((await send(w.base, 'GET', '/api/session', { cookie })).status).toBe(200);
      expect((await send(w.base, 'GET', '/api/session', { cookie: cookie.replace('__Host-earshot-session', 'earshot-session') })).status).toBe(401);
    } finally {
      t.cleanup();
    }
  });

  it('pairing: a link works once, for 10 minutes, with a plain message otherwise; codes and session ids are stored only hashed', async () => {
    w = await world({ recordings: 0 });
    const mk = async () => (await createPairingLink(w!.backend, { baseUrl: w!.base, ownerId: w!.alice, clock: w!.clock, source: 'owner-cli' })).link.split('#c=')[1]!;
    const code = await mk();
    // From another origin (or with no Origin) the code is refused and not used up.
    for (const origin of ['http://evil.example', null]) {
      expect((await send(w.base, 'POST', '/api/pair', { body: { code }, origin })).status).toBe(403);
    }
    expect((await send(w.base, 'POST', '/api/pair', { body: { code }, headers: { 'Sec-Fetch-Site': 'cross-site' } })).status).toBe(403);
    expect(await w.app.listSessions()).toEqual([]);
    // Two browsers racing with one code: exactly one session.
    const [r1, r2] = await Promise.all([send(w.base, 'POST', '/api/pair', { body: { code } }), send(w.base, 'POST', '/api/pair', { body: { code } })]);
    expect([r1.status, r2.status].sort()).toEqual([200, 400]);
    const refused = r1.status === 400 ? r1 : r2;
    expect(refused.json()).toMatchObject({ reason: 'used', message: expect.stringContaining('already used') });
    expect(await w.app.listSessions(w.alice)).toHaveLength(1);

    const late = await mk();
    w.clock.t += PAIRING_TTL_MS + 1;
    expect((await send(w.base, 'POST', '/api/pair', { body: { code: late } })).json()).toMatchObject({ reason: 'expired', message: expect.stringContaining('expired') });
    expect((await send(w.base, 'POST', '/api/pair', { body: { code: 'x'.repeat(43) } })).json()).toMatchObject({ reason: 'unknown' });

    // Neither the cookie's session id nor any code is in the database files in clear.
    const sessionId = String((r1.status === 200 ? r1 : r2).headers['set-cookie']).split(';')[0]!.split('=')[1]!;
    await w.store.compact();
    const files = readdirSync(w.dir).filter((f) => f.startsWith('earshot.db')).map((f) => readFileSync(path.join(w!.dir, f)));
    for (const secret of [sessionId, code, late]) for (const f of files) expect(f.includes(Buffer.from(secret))).toBe(false);
  });

  it('pairing failures from one client are slowed down, then locked out, and every owner gets a notice', async () => {
    w = await world({ recordings: 0 });
    const wrong = () => send(w!.base, 'POST', '/api/pair', { body: { code: 'y'.repeat(43) } });
    for (let i = 0; i < 3; i++) expect((await wrong()).status).toBe(400);
    expect((await wrong()).status).toBe(400); // the 4th failure starts the slow-down
    const slow = await wrong();
    expect(slow.status).toBe(429);
    expect(slow.json()).toMatchObject({ error: 'slow-down' });
    expect(Number(slow.headers['retry-after'])).toBeGreaterThan(0);
    let failures = 4;
    while (failures < 10) {
      w.clock.t += 70_000; // past the longest wait before the lock-out (64 s), well within the 15 quiet minutes
      const r = await wrong();
      expect(r.status).toBe(400);
      failures++;
    }
    const locked = await wrong();
    expect(locked.status).toBe(429);
    expect(locked.json()).toMatchObject({ error: 'locked-out', message: expect.stringContaining('owners have been told') });
    // A valid code does not get through the lock-out either.
    const good = (await createPairingLink(w.backend, { baseUrl: w.base, ownerId: w.alice, clock: w.clock, source: 'owner-cli' })).link.split('#c=')[1]!;
    expect((await send(w.base, 'POST', '/api/pair', { body: { code: good } })).status).toBe(429);
    for (const owner of [w.alice, w.bob]) {
      const notices = await w.backend.notices(owner);
      expect(notices.filter((n) => n.kind === 'pairing-lockout')).toHaveLength(1);
      expect(notices[0]!.message).toContain('blocked for 15 minutes');
    }
    w.clock.t += 15 * 60_000 + 1;
    const fresh = (await createPairingLink(w.backend, { baseUrl: w.base, ownerId: w.alice, clock: w.clock, source: 'owner-cli' })).link.split('#c=')[1]!;
    expect((await send(w.base, 'POST', '/api/pair', { body: { code: fresh } })).status).toBe(200);
  });

  it('sessions: idle for 30 days ends one, use keeps it alive; sign-out and revoke end it', async () => {
    w = await world({ recordings: 0 });
    const a = await w.pair(w.alice);
    for (let i = 0; i < 3; i++) {
      w.clock.t += SESSION_IDLE_MS - 60_000; // used just before each expiry
      const r = await send(w.base, 'GET', '/api/session', { cookie: a.cookie });
      expect(r.status).toBe(200);
      // The browser's cookie lives on with the session (Max-Age renewed), the same secret.
      expect(String(r.headers['set-cookie'])).toBe(`${a.cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000`);
    }
    expect((await send(w.base, 'GET', '/api/session', { cookie: a.cookie })).headers['set-cookie']).toBeUndefined(); // not on every request
    w.clock.t += SESSION_IDLE_MS + 1;
    expect((await send(w.base, 'GET', '/api/session', { cookie: a.cookie })).status).toBe(401);
    expect(await w.app.listSessions(w.alice)).toEqual([]);

    const b = await w.pair(w.alice);
    const out = await send(w.base, 'POST', '/api/logout', { cookie: b.cookie, csrf: b.csrf, body: {} });
    expect(out.status).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await send(w.base, 'GET', '/api/session', { cookie: b.cookie })).status).toBe(401);

    // A session whose browser never comes back ends too: swept when the page starts (and hourly).
    const gone = await w.pair(w.alice);
    w.clock.t += SESSION_IDLE_MS + 1;
    const restarted = await startOwnerPage({ backend: w.backend, clock: w.clock, port: 0 });
    await restarted.close();
    expect((await w.app.listSessions(w.alice)).map((s) => s.ref)).not.toContain(gone.sessionRef);
    const swept = (await w.app.auditLog({ ownerId: w.alice })).filter((e) => e.type === 'web.session-ended' && e.detail?.['session'] === gone.sessionRef);
    expect(swept.map((e) => e.detail?.['reason'])).toEqual(['idle-expired']);

    // Pairing again in a browser that has a session ends the old one (one session per browser).
    const c = await w.pair(w.alice);
    const { link } = await createPairingLink(w.backend, { baseUrl: w.base, ownerId: w.bob, clock: w.clock, source: 'owner-cli' });
    expect((await send(w.base, 'POST', '/api/pair', { cookie: c.cookie, body: { code: link.split('#c=')[1] } })).status).toBe(200);
    expect((await send(w.base, 'GET', '/api/session', { cookie: c.cookie })).status).toBe(401);
  });

  it("erasing from the page shreds the owner and ends all their sessions; Bob's stay; a transfer ends every session", async () => {
    w = await world({ recordings: 2 });
    const phone = await w.pair(w.alice, 'Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile');
    const laptop = await w.pair(w.alice, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0');
    const bob = await w.pair(w.bob);
    expect((await w.backend.listSessions(w.alice)).map((s) => s.browser).sort()).toEqual(['Chrome on Android', 'Firefox on Linux']);
    expect((await send(w.base, 'POST', '/api/erase', { cookie: phone.cookie, csrf: phone.csrf, body: { confirm: 'erase' } })).status).toBe(400);
    const r = await send(w.base, 'POST', '/api/erase', { cookie: phone.cookie, csrf: phone.csrf, body: { confirm: 'ERASE' } });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ erased: true, recordings: 2 });
    for (const c of [phone, laptop]) expect((await send(w.base, 'GET', '/api/session', { cookie: c.cookie })).status).toBe(401);
    expect((await send(w.base, 'GET', '/api/session', { cookie: bob.cookie })).status).toBe(200);
    const erased = (await w.app.auditLog()).find((e) => e.type === 'owner.erased')!;
    expect(erased.detail).toMatchObject({ source: 'owner-page', recordings: 2 });

    await w.app.transferDevice({ newOwnerName: 'Carol', source: 'test' });
    expect((await send(w.base, 'GET', '/api/session', { cookie: bob.cookie })).status).toBe(401);
    expect(await w.app.listSessions()).toEqual([]);
  });

  it('recordings: newest first, paged, with retention date; play, flag (sealed) and delete are audited from the page', async () => {
    w = await world({ recordings: 25 });
    const a = await w.pair(w.alice);
    const p0 = (await send(w.base, 'GET', '/api/recordings?page=0', { cookie: a.cookie })).json();
    const p1 = (await send(w.base, 'GET', '/api/recordings?page=1', { cookie: a.cookie })).json();
    expect(p0.total).toBe(25);
    expect(p0.items).toHaveLength(20);
    expect(p1.items).toHaveLength(5);
    expect([...p0.items, ...p1.items].map((i: { id: string }) => i.id)).toEqual([...w.aliceRecordings].reverse());
    const first = p0.items[0];
    expect(first).toMatchObject({ wakeword: 'hey_jarvis', durationMs: 1000, uploaded: false, falseWake: false, deleteAt: first.createdAt + 30 * 86_400_000 });

    const id = first.id as string;
    const flag = await send(w.base, 'POST', `/api/recordings/${id}/false-wake`, { cookie: a.cookie, csrf: a.csrf, body: { on: true } });
    expect(flag.status).toBe(200);
    expect((await w.app.listRecordings(w.alice)).find((r) => r.id === id)!.falseWake).toBe(true);
    // The flag is inside the sealed metadata, not in any clear column.
    await w.store.compact();
    for (const f of readdirSync(w.dir).filter((x) => x.startsWith('earshot.db'))) expect(readFileSync(path.join(w.dir, f)).includes(Buffer.from('falseWake'))).toBe(false);
    const audio = await send(w.base, 'GET', `/api/recordings/${id}/audio`, { cookie: a.cookie });
    expect(audio.body.length).toBe(44 + 32000);
    const del = await send(w.base, 'POST', '/api/recordings/delete', { cookie: a.cookie, csrf: a.csrf, body: { ids: [id, p0.items[1].id] } });
    expect(del.json()).toEqual({ deleted: 2 });
    // All or nothing: one foreign id in the list and nothing is deleted.
    const mixed = await send(w.base, 'POST', '/api/recordings/delete', { cookie: a.cookie, csrf: a.csrf, body: { ids: [p0.items[2].id, w.bobRecordings[0]] } });
    expect(mixed.status).toBe(404);
    expect(await recordingIds(w, w.alice)).toContain(p0.items[2].id);
    const events = (await w.app.auditLog({ ownerId: w.alice })).filter((e) => e.detail?.['source'] === 'owner-page').map((e) => e.type);
    expect(events).toEqual(['web.session-started', 'recording.flagged', 'recording.played', 'recording.deleted', 'recording.deleted']);
  });

  it('privacy: local-only (and why it cannot be turned off when the fleet forces it), consent with its text version, retention', async () => {
    const keys = makeKeys();
    w = await world({ recordings: 1, configure: (c) => ((c.device.groups = ['eu']), (c.fleet.publicKeys = [keys.publicKeyPem])) });
    const a = await w.pair(w.alice);
    const post = (url: string, body: unknown) => send(w!.base, 'POST', url, { cookie: a.cookie, csrf: a.csrf, body });
    const p = (await send(w.base, 'GET', '/api/privacy', { cookie: a.cookie })).json();
    expect(p.consent.map((c: { purpose: string; textVersion: string; active: boolean }) => [c.purpose, c.textVersion, c.active])).toEqual([
      ['cloud-processing', 'page-1', false],
      ['quality-improvement', 'page-1', false],
    ]);
    expect((await post('/api/privacy/consent', { purpose: 'cloud-processing', action: 'grant', textVersion: 'page-0' })).json().message).toContain('consent text has changed');
    const granted = (await post('/api/privacy/consent', { purpose: 'cloud-processing', action: 'grant', textVersion: 'page-1' })).json();
    expect(granted.consent[0]).toMatchObject({ active: true, decidedTextVersion: 'page-1' });
    expect((await w.app.consentOf(w.alice)).history.map((e) => [e.action, e.source, e.textVersion])).toEqual([['grant', 'owner-page', 'page-1']]);
    // Withdrawing cloud processing empties the owner's upload queue at once.
    const queued = await w.app.storeCapture(w.alice, makeCapture({ seed: 99, startedAt: w.clock.t }), { uplink: true });
    expect(queued.queued).toBe(true);
    expect((await send(w.base, 'GET', '/api/speaker', { cookie: a.cookie })).json().queued).toBe(1);
    await post('/api/privacy/consent', { purpose: 'cloud-processing', action: 'withdraw', textVersion: 'page-1' });
    expect(await w.store.outbox.count()).toBe(0);
    expect(queued.recording.id).toBeTruthy();

    expect((await post('/api/privacy/retention', { days: 7 })).json()).toMatchObject({ retentionDays: 7, effectiveRetentionDays: 7 });
    expect((await post('/api/privacy/retention', { days: -1 })).status).toBe(400);
    expect((await post('/api/privacy/local-only', { on: true })).json().localOnly).toMatchObject({ effective: true, choice: true, forcedByFleet: false, why: null });
    expect((await post('/api/privacy/local-only', { on: false })).json().localOnly).toMatchObject({ effective: false });

    const receiver = new FleetConfigReceiver({ deviceId: DEVICE, deviceConfig: w.config, settings: w.store.settings, audit: w.store.audit });
    expect((await receiver.receive('earshot/v1/fleet/eu/config', signed(keys.privateKey, { privacy: { forceLocalOnly: true, maxRetentionDays: 3 } }, { version: 1, target: 'group:eu' }))).status).toBe('applied');
    const forced = (await send(w.base, 'GET', '/api/privacy', { cookie: a.cookie })).json();
    expect(forced.localOnly).toMatchObject({ effective: true, choice: false, forcedByFleet: true, why: expect.stringContaining('fleet manager') });
    expect(forced.effectiveRetentionDays).toBe(3);
    const off = await post('/api/privacy/local-only', { on: false });
    expect(off.status).toBe(409);
    expect(off.json().message).toContain('forced on by fleet configuration');
    const changes = (await w.app.auditLog({ ownerId: w.alice })).filter((e) => ['local-only.changed', 'retention.changed', 'consent.changed'].includes(e.type));
    expect(changes.every((e) => e.detail?.['source'] === 'owner-page')).toBe(true);
    expect(changes).toHaveLength(5);
  });

  it("export: the bundle holds only the owner's recordings, optionally encrypted with the passphrase; nothing is left on disk", async () => {
    w = await world({ recordings: 2 });
    const a = await w.pair(w.alice);
    const link = await send(w.base, 'POST', '/api/export', { cookie: a.cookie, csrf: a.csrf, body: {} });
    expect(link.json()).toEqual({ download: expect.stringMatching(/^\/api\/export\/[A-Za-z0-9_-]{43}$/), expiresInSeconds: 60 });
    const r = await send(w.base, 'GET', link.json().download, { cookie: a.cookie });
    expect(r.status).toBe(200);
    // One use, one minute, this session only.
    expect((await send(w.base, 'GET', link.json().download, { cookie: a.cookie })).status).toBe(404);
    const other = await w.pair(w.alice);
    const late = (await send(w.base, 'POST', '/api/export', { cookie: a.cookie, csrf: a.csrf, body: {} })).json().download;
    expect((await send(w.base, 'GET', late, { cookie: other.cookie })).status).toBe(404);
    w.clock.t += 60_001;
    expect((await send(w.base, 'GET', late, { cookie: a.cookie })).status).toBe(404);
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="earshot-export-\d{4}-\d\d-\d\d\.tar"$/);
    const files = readTar(r.body);
    const manifest = JSON.parse([...files].find(([n]) => n.endsWith('manifest.json'))![1].toString());
    expect(manifest.owner.id).toBe(w.alice);
    expect(manifest.recordings.map((x: { id: string }) => x.id).sort()).toEqual([...w.aliceRecordings].sort());
    expect(r.body.includes(Buffer.from(w.bob))).toBe(false);

    expect((await send(w.base, 'POST', '/api/export', { cookie: a.cookie, csrf: a.csrf, body: { passphrase: 'short' } })).status).toBe(400);
    const encLink = (await send(w.base, 'POST', '/api/export', { cookie: a.cookie, csrf: a.csrf, body: { passphrase: 'correct horse battery' } })).json().download;
    const enc = await send(w.base, 'GET', encLink, { cookie: a.cookie });
    expect(enc.headers['content-disposition']).toContain('.tar.enc');
    const encFile = path.join(w.dir, 'x.tar.enc');
    writeFileSync(encFile, enc.body);
    await decryptBundleFile(encFile, path.join(w.dir, 'x.tar'), 'correct horse battery');
    expect([...readTar(readFileSync(path.join(w.dir, 'x.tar'))).keys()].filter((n) => n.endsWith('.wav'))).toHaveLength(2);
    await new Promise((res) => setTimeout(res, 50));
    expect(readdirSync(w.dir).filter((f) => f.startsWith('.web-export-'))).toEqual([]);
    const exports = (await w.app.auditLog({ ownerId: w.alice })).filter((e) => e.type === 'export.created');
    expect(exports.map((e) => [e.detail?.['source'], e.detail?.['format']])).toEqual([['owner-page', 'tar'], ['owner-page', 'encrypted-tar']]);
  });

  it("notices: an owner's incidents and device-wide ones, never another owner's; acknowledged once; nothing of other owners in the speaker view", async () => {
    const keys = makeKeys();
    w = await world({ recordings: 1, configure: (c) => ((c.device.groups = ['eu']), (c.fleet.publicKeys = [keys.publicKeyPem])) });
    const a = await w.pair(w.alice);
    const b = await w.pair(w.bob);
    await w.app.recordIncident({ kind: 'integrity', what: 'recording', reason: `recording ${w.bobRecordings[0]} does not open for owner ${w.bob}` }, w.bob);
    const forger = makeKeys();
    const receiver = new FleetConfigReceiver({ deviceId: DEVICE, deviceConfig: w.config, settings: w.store.settings, audit: w.store.audit });
    await receiver.receive('earshot/v1/fleet/eu/config', signed(forger.privateKey, { privacy: { maxRetentionDays: 9999 } }, { version: 5, target: 'group:eu' }));
    const an = (await send(w.base, 'GET', '/api/notices', { cookie: a.cookie })).json().notices;
    const bn = (await send(w.base, 'GET', '/api/notices', { cookie: b.cookie })).json().notices;
    expect(an.map((n: { kind: string }) => n.kind)).toEqual(['fleet-refused']);
    expect(bn.map((n: { kind: string }) => n.kind)).toEqual(['fleet-refused', 'integrity']);
    expect(JSON.stringify(bn)).not.toContain(w.bobRecordings[0]); // the incident's free text is never shown
    const bobOwn = bn[1].id as number;
    expect((await send(w.base, 'POST', `/api/notices/${bobOwn}/ack`, { cookie: a.cookie, csrf: a.csrf, body: {} })).status).toBe(404);
    expect((await send(w.base, 'POST', `/api/notices/${bobOwn}/ack`, { cookie: b.cookie, csrf: b.csrf, body: {} })).status).toBe(200);
    expect((await send(w.base, 'POST', `/api/notices/${bobOwn}/ack`, { cookie: b.cookie, csrf: b.csrf, body: {} })).status).toBe(404);
    expect((await send(w.base, 'GET', '/api/notices', { cookie: b.cookie })).json().notices[1].acknowledged).toBe(true);
    // Alice's view of the device-wide notice is still unacknowledged: acknowledgements are per owner.
    expect((await send(w.base, 'GET', '/api/notices', { cookie: a.cookie })).json().notices[0].acknowledged).toBe(false);
    const speaker = (await send(w.base, 'GET', '/api/speaker', { cookie: a.cookie })).json();
    expect(speaker).toEqual({ listening: { state: 'never', since: null }, localOnly: false, uploadsEnabled: true, queued: 0, lastFleet: expect.objectContaining({ result: 'refused', version: 5 }) });
  });

  it("a tampered recording is not played: 500 with a plain message, and a notice for its owner only", async () => {
    w = await world({ recordings: 2 });
    const a = await w.pair(w.alice);
    const b = await w.pair(w.bob);
    const id = w.aliceRecordings[0]!;
    const sqlite3 = (await import('sqlite3')).default;
    const db = new sqlite3.Database(path.join(w.dir, 'audio', `${w.alice}.db`));
    await new Promise<void>((res, rej) => db.run("UPDATE audio SET sealed = zeroblob(length(sealed)) WHERE recording_id = ?", [id], (e) => (e ? rej(e) : res())));
    await new Promise<void>((res) => db.close(() => res()));
    const r = await send(w.base, 'GET', `/api/recordings/${id}/audio`, { cookie: a.cookie });
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({ error: 'integrity', message: expect.stringContaining('failed its integrity check') });
    expect((await send(w.base, 'GET', '/api/notices', { cookie: a.cookie })).json().notices.map((n: { kind: string }) => n.kind)).toEqual(['integrity']);
    expect((await send(w.base, 'GET', '/api/notices', { cookie: b.cookie })).json().notices).toEqual([]);
    // The other recording still plays.
    expect((await send(w.base, 'GET', `/api/recordings/${w.aliceRecordings[1]}/audio`, { cookie: a.cookie })).status).toBe(200);
    // An export meets the tampered recording: stopped, nothing written, a notice.
    const link = (await send(w.base, 'POST', '/api/export', { cookie: a.cookie, csrf: a.csrf, body: {} })).json().download;
    const ex = await send(w.base, 'GET', link, { cookie: a.cookie });
    expect(ex.status).toBe(500);
    expect(ex.json()).toMatchObject({ error: 'export-aborted', message: expect.stringContaining('nothing was written') });
    expect(readdirSync(w.dir).filter((f) => f.startsWith('.web-export-'))).toEqual([]);
    const kinds = (await send(w.base, 'GET', '/api/notices', { cookie: a.cookie })).json().notices.map((n: { kind: string }) => n.kind);
    expect(kinds).toContain('export-aborted');
  });

  it("whose a session or pairing code is rests on the owner's key, not the clear owner_id column", async () => {
    w = await world({ recordings: 1 });
    const a = await w.pair(w.alice);
    const b = await w.pair(w.bob);
    const sqlite3 = (await import('sqlite3')).default;
    const exec = async (q: string, p: unknown[]) => {
      const db = new sqlite3.Database(path.join(w!.dir, 'earshot.db'));
      await new Promise<void>((res, rej) => db.run(q, p, (e) => (e ? rej(e) : res())));
      await new Promise<void>((res) => db.close(() => res()));
    };
    // Someone with write access to the database (but not the key file) re-files Alice's session under Bob.
    await exec('UPDATE web_sessions SET owner_id = ? WHERE ref = ?', [w.bob, a.sessionRef]);
    const r = await send(w.base, 'GET', '/api/recordings', { cookie: a.cookie });
    expect(r.status).toBe(401);
    expect(r.body.toString()).not.toContain(w.bobRecordings[0]);
    // ... or moves Bob's row onto Alice's cookie: the sealed part names the id hash, so that fails too.
    await exec('DELETE FROM web_sessions WHERE ref = ?', [a.sessionRef]);
    const aliceHash = (await import('../../src/web/secrets.js')).hashSecret(a.cookie.split('=')[1]!);
    await exec('UPDATE web_sessions SET id_hash = ? WHERE ref = ?', [aliceHash, b.sessionRef]);
    expect((await send(w.base, 'GET', '/api/recordings', { cookie: a.cookie })).status).toBe(401);
    // ... or inserts a pairing code of their own for Bob, copying a real row's sealed check.
    const { link } = await createPairingLink(w.backend, { baseUrl: w.base, ownerId: w.alice, clock: w.clock, source: 'owner-cli' });
    const own = 'z'.repeat(43);
    const { hashSecret } = await import('../../src/web/secrets.js');
    await exec(
      'INSERT INTO web_pairing (code_hash, owner_id, created_at, expires_at, used_at, key_version, sealed_check) SELECT ?, ?, created_at, expires_at, NULL, key_version, sealed_check FROM web_pairing WHERE code_hash = ?',
      [hashSecret(own), w.bob, hashSecret(link.split('#c=')[1]!)],
    );
    const forged = await send(w.base, 'POST', '/api/pair', { body: { code: own } });
    expect(forged.json()).toMatchObject({ reason: 'unknown' });
    const incidents = (await w.app.auditLog()).filter((e) => e.type === 'incident').map((e) => e.detail?.['what']);
    expect(incidents).toEqual(['web-session', 'web-session', 'pairing-code']);
    // The genuine link still works.
    expect((await send(w.base, 'POST', '/api/pair', { body: { code: link.split('#c=')[1] } })).status).toBe(200);
  });

  it('a backend error is answered without details', async () => {
    w = await world({ recordings: 0 });
    const failing = new AppOwnerBackend(w.app);
    failing.speaker = async () => {
      throw new EarshotError('STORE_IO', 'disk /secret/path failed for owner own-x');
    };
    const page = await startOwnerPage({ backend: failing, clock: w.clock, port: 0 });
    try {
      const { link } = await createPairingLink(failing, { baseUrl: page.url, ownerId: w.alice, clock: w.clock, source: 'owner-cli' });
      const pr = await send(page.url, 'POST', '/api/pair', { body: { code: link.split('#c=')[1] } });
      const cookie = String(pr.headers['set-cookie']).split(';')[0]!;
      const r = await send(page.url, 'GET', '/api/speaker', { cookie });
      expect(r.status).toBe(500);
      expect(r.body.toString()).not.toContain('secret');
    } finally {
      await page.close();
    }
  });
});
