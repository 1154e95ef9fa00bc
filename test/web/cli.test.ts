/** `earshot web`, `web pair`, `web sessions [revoke]`, `web cert` and `notices`, run in-process against a real store. */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { PAIRING_TTL_MS, loadTls } from '../../src/web/index.js';
import { runEarshot } from '../helpers/cli.js';
import { send, world, type World } from './helpers.js';

describe('earshot web commands', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });
  const cli = (argv: string[]) => runEarshot([...argv, '--data-dir', w!.dir, '--config', w!.configFile]);

  it('web pair prints a one-time link (and a QR code) that pairs exactly that owner', async () => {
    w = await world({ recordings: 1 });
    const r = await cli(['web', 'pair', '--owner', w.bob, '--url', w.base, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out).toMatchObject({ ownerId: w.bob, fingerprint256: null, link: expect.stringMatching(new RegExp(`^${w.base}/pair#c=[A-Za-z0-9_-]{43}$`)) });
    const left = Date.parse(out.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(PAIRING_TTL_MS - 60_000);
    expect(left).toBeLessThanOrEqual(PAIRING_TTL_MS);
    const paired = await send(w.base, 'POST', '/api/pair', { body: { code: out.link.split('#c=')[1] } });
    const me = await send(w.base, 'GET', '/api/session', { cookie: String(paired.headers['set-cookie']).split(';')[0] });
    expect(me.json()).toMatchObject({ ownerId: w.bob, name: 'Bob Example' });

    const text = await cli(['web', 'pair', '--url', w.base]);
    expect(text.out).toContain(`Pairing link for owner ${w.alice}`); // default: the active owner
    expect(text.out).toMatch(/[▀▄█]/); // the QR code
    expect((await cli(['web', 'pair', '--owner', 'own-0000000000000000'])).err).toContain('UNKNOWN_OWNER');
    // A malformed id is refused as such (the app's one owner-id rule for every command), never read as "no id".
    expect((await cli(['web', 'pair', '--owner', 'own-nobody'])).err).toContain('BAD_ARGUMENT');
    expect((await cli(['web', 'pair', '--url', 'javascript:alert(1)'])).err).toContain('BAD_ARGUMENT');
  });

  it('web sessions lists and revokes sessions (one, by owner, all)', async () => {
    w = await world({ recordings: 0 });
    w.clock.t = Date.now(); // the command runs on the real clock: these sessions are fresh for it
    const a1 = await w.pair(w.alice);
    await w.pair(w.alice, 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/605.1');
    const b = await w.pair(w.bob);
    const list = JSON.parse((await cli(['web', 'sessions', '--json'])).out) as { ref: string; ownerId: string; browser: string }[];
    expect(list.map((s) => s.ownerId).sort()).toEqual([w.alice, w.alice, w.bob].sort());
    expect(JSON.parse((await cli(['web', 'sessions', '--owner', w.bob, '--json'])).out).map((s: { ref: string }) => s.ref)).toEqual([b.sessionRef]);
    expect((await cli(['web', 'sessions'])).out).toContain('Safari on iOS');

    expect((await cli(['web', 'sessions', 'revoke'])).err).toContain('name exactly one of');
    expect((await cli(['web', 'sessions', 'revoke', 'ses-000000000000'])).err).toContain('no session ses-000000000000');
    expect(JSON.parse((await cli(['web', 'sessions', 'revoke', a1.sessionRef, '--json'])).out)).toEqual({ ended: 1 });
    expect((await send(w.base, 'GET', '/api/session', { cookie: a1.cookie })).status).toBe(401);
    expect(JSON.parse((await cli(['web', 'sessions', 'revoke', '--owner', w.alice, '--json'])).out)).toEqual({ ended: 1 });
    expect(JSON.parse((await cli(['web', 'sessions', 'revoke', '--all', '--json'])).out)).toEqual({ ended: 1 });
    expect((await cli(['web', 'sessions'])).out).toContain('no paired browsers');
    // A session idle for 30 days is ended (and not listed) by the next listing.
    w.clock.t = Date.now() - 31 * 86_400_000;
    const idle = await w.pair(w.bob);
    expect((await cli(['web', 'sessions', '--json'])).out.trim()).toBe('[]');
    expect((await w.app.auditLog({ ownerId: w.bob })).filter((e) => e.detail?.['session'] === idle.sessionRef).map((e) => e.type)).toEqual([
      'web.session-started',
      'web.session-ended',
    ]);
    const ended = (await w.app.auditLog()).filter((e) => e.type === 'web.session-ended');
    expect(ended.map((e) => [e.detail?.['source'], e.detail?.['reason']])).toEqual([
      ['owner-cli', 'revoked'],
      ['owner-cli', 'revoked'],
      ['owner-cli', 'revoked'],
      ['owner-cli', 'idle-expired'],
    ]);
  });

  it('web cert makes the device certificate; LAN serving needs it; pairing then prints its fingerprint', async () => {
    w = await world({ recordings: 0 });
    const lan = await cli(['web', '--host', '0.0.0.0', '--port', '0']);
    expect(lan.code).toBe(1);
    expect(lan.err).toContain('WEB_TLS: listening on 0.0.0.0 needs TLS');
    expect(lan.err).toContain('earshot web cert');
    const made = JSON.parse((await cli(['web', 'cert', '--json', '--name', 'speaker.home.arpa'])).out);
    expect(made.fingerprint256).toBe((await loadTls(made.certFile, made.certFile.replace('web-cert.pem', 'web-key.pem'))).fingerprint256);
    expect((await cli(['web', 'cert'])).err).toContain('--replace');
    const p = JSON.parse((await cli(['web', 'pair', '--host', '0.0.0.0', '--port', '8443', '--json'])).out);
    expect(p.link).toMatch(/^https:\/\/[0-9.]+:8443\/pair#c=/);
    expect(p.fingerprint256).toBe(made.fingerprint256);
    expect((await cli(['web', '--port', String(w.page.port)])).err).toContain('WEB_LISTEN: port');
    expect((await cli(['web', '--port', 'eighty'])).err).toContain('--port must be a port number');
  });

  it('earshot web serves until stopped, printing the address and a pairing link', async () => {
    w = await world({ recordings: 1 });
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const ac = new AbortController();
    const running = runCli(['web', '--port', '0', '--pair', '--no-qr', '--data-dir', w.dir, '--config', w.configFile], {
      stdout,
      stderr: new PassThrough(),
      stdin: new PassThrough(),
      env: {},
      signal: ac.signal,
    });
    await expect.poll(() => out, { timeout: 10_000 }).toContain('/pair#c=');
    // --port 0 prints the port it got; the link is for that address.
    const link = /(http:\/\/127\.0\.0\.1:\d+)\/pair#c=([A-Za-z0-9_-]+)/.exec(out)!;
    expect(out).toContain(`The owner's page is at ${link[1]} (this device only)`);
    const paired = await send(link[1]!, 'POST', '/api/pair', { body: { code: link[2] } });
    expect(paired.status).toBe(200);
    const list = await send(link[1]!, 'GET', '/api/recordings', { cookie: String(paired.headers['set-cookie']).split(';')[0] });
    expect(list.json().items.map((i: { id: string }) => i.id)).toEqual(w.aliceRecordings);
    ac.abort();
    expect(await running).toBe(0);
  });

  it('earshot notices lists what the page shows as banners; --help for every command', async () => {
    w = await world({ recordings: 0 });
    await w.app.recordIncident({ kind: 'export-aborted' }, w.alice);
    const n = JSON.parse((await cli(['notices', '--owner', w.alice, '--json'])).out);
    expect(n.notices.map((x: { kind: string; acknowledged: boolean }) => [x.kind, x.acknowledged])).toEqual([['export-aborted', false]]);
    expect((await cli(['notices', '--owner', w.bob])).out).toContain('no notices');
    for (const c of [['web'], ['web', 'pair'], ['web', 'sessions'], ['web', 'sessions', 'revoke'], ['web', 'cert'], ['notices']]) {
      const h = await runEarshot([...c, '--help']);
      expect(h.code).toBe(0);
      expect(h.out).toContain(`earshot ${c.join(' ')}`);
    }
  });
});
