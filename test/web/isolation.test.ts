/**
 * Isolation at the HTTP level, route by route: with two paired owners, every API route is tried with no
 * session, a forged cookie, a revoked and an expired session, from another origin, and (where a route takes
 * an id) with the other owner's ids. Every attempt is refused, and the store and the audit log are checked to
 * be unchanged after each one. Positive controls show the same requests succeed for the right owner.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_IDLE_MS } from '../../src/web/index.js';
import { recordingIds, send, snapshot, world, type Client, type World } from './helpers.js';

interface Ids {
  recording: string;
  notice: number;
  session: string;
  /** A one-time export link's token. */
  exportToken: string;
}

interface Route {
  name: string;
  method: 'GET' | 'POST';
  path: (ids: Ids) => string;
  body?: (ids: Ids) => unknown;
  /** The route acts on an id the request names. */
  idRoute?: boolean;
}

export const ROUTES: Route[] = [
  { name: 'GET /api/session', method: 'GET', path: () => '/api/session' },
  { name: 'POST /api/logout', method: 'POST', path: () => '/api/logout', body: () => ({}) },
  { name: 'GET /api/recordings', method: 'GET', path: () => '/api/recordings?page=0' },
  { name: 'GET /api/recordings/:id/audio', method: 'GET', path: (i) => `/api/recordings/${i.recording}/audio`, idRoute: true },
  { name: 'POST /api/recordings/delete', method: 'POST', path: () => '/api/recordings/delete', body: (i) => ({ ids: [i.recording] }), idRoute: true },
  { name: 'POST /api/recordings/:id/false-wake', method: 'POST', path: (i) => `/api/recordings/${i.recording}/false-wake`, body: () => ({ on: true }), idRoute: true },
  { name: 'GET /api/privacy', method: 'GET', path: () => '/api/privacy' },
  { name: 'POST /api/privacy/local-only', method: 'POST', path: () => '/api/privacy/local-only', body: () => ({ on: true }) },
  { name: 'POST /api/privacy/consent', method: 'POST', path: () => '/api/privacy/consent', body: () => ({ purpose: 'cloud-processing', action: 'grant', textVersion: 'page-1' }) },
  { name: 'POST /api/privacy/retention', method: 'POST', path: () => '/api/privacy/retention', body: () => ({ days: 3 }) },
  { name: 'POST /api/export', method: 'POST', path: () => '/api/export', body: () => ({}) },
  { name: 'GET /api/export/:token', method: 'GET', path: (i) => `/api/export/${i.exportToken}`, idRoute: true },
  { name: 'POST /api/erase', method: 'POST', path: () => '/api/erase', body: () => ({ confirm: 'ERASE' }) },
  { name: 'GET /api/activity', method: 'GET', path: () => '/api/activity' },
  { name: 'GET /api/speaker', method: 'GET', path: () => '/api/speaker' },
  { name: 'GET /api/notices', method: 'GET', path: () => '/api/notices' },
  { name: 'POST /api/notices/:id/ack', method: 'POST', path: (i) => `/api/notices/${i.notice}/ack`, body: () => ({}), idRoute: true },
  { name: 'GET /api/sessions', method: 'GET', path: () => '/api/sessions' },
  { name: 'POST /api/sessions/:ref/revoke', method: 'POST', path: (i) => `/api/sessions/${i.session}/revoke`, body: () => ({}), idRoute: true },
];

describe('owner page isolation (HTTP)', () => {
  let w: World;
  let alice: Client;
  let bob: Client;
  let aliceIds: Ids;
  let bobIds: Ids;
  const nobody: Ids = { recording: 'rec-never-existed', notice: 999_999, session: 'ses-000000000000', exportToken: 'x'.repeat(43) };

  beforeAll(async () => {
    w = await world();
    alice = await w.pair(w.alice);
    bob = await w.pair(w.bob);
    await w.app.recordIncident({ kind: 'export-aborted', reason: 'test' }, w.alice);
    await w.app.recordIncident({ kind: 'export-aborted', reason: 'test' }, w.bob);
    const aliceNotice = (await w.app.notices(w.alice))[0]!.seq;
    const bobNotice = (await w.app.notices(w.bob))[0]!.seq;
    const exportToken = async (c: Client) =>
      ((await send(w.base, 'POST', '/api/export', { cookie: c.cookie, csrf: c.csrf, body: {} })).json().download as string).split('/').pop()!;
    aliceIds = { recording: w.aliceRecordings[0]!, notice: aliceNotice, session: alice.sessionRef, exportToken: await exportToken(alice) };
    bobIds = { recording: w.bobRecordings[0]!, notice: bobNotice, session: bob.sessionRef, exportToken: await exportToken(bob) };
  });
  afterAll(async () => w?.close());

  /** Runs `attempt` and checks it changed nothing: same store contents, no new audit entry. */
  async function unchanged(attempt: () => Promise<void>): Promise<void> {
    const before = await snapshot(w);
    await attempt();
    expect(await snapshot(w)).toBe(before);
  }

  function call(r: Route, ids: Ids, o: { cookie?: string; csrf?: string; origin?: string | null; headers?: Record<string, string> }) {
    return send(w.base, r.method, r.path(ids), { ...o, ...(r.body ? { body: r.body(ids) } : {}) });
  }

  for (const r of ROUTES) {
    describe(r.name, () => {
      it('no session: 401, nothing changed', async () => {
        await unchanged(async () => expect((await call(r, aliceIds, { csrf: alice.csrf })).status).toBe(401));
      });

      it('forged cookie: 401, nothing changed', async () => {
        const forged = `earshot-session=${randomBytes(32).toString('base64url')}`;
        await unchanged(async () => expect((await call(r, aliceIds, { cookie: forged, csrf: alice.csrf })).status).toBe(401));
        // A cookie that is not even the right shape, and Alice's CSRF token without her cookie.
        await unchanged(async () => expect((await call(r, aliceIds, { cookie: 'earshot-session=../../etc', csrf: alice.csrf })).status).toBe(401));
      });

      it('revoked session: 401, nothing changed', async () => {
        const c = await w.pair(w.alice);
        await w.backend.endSessions({ ref: c.sessionRef }, 'revoked', 'owner-cli');
        await unchanged(async () => expect((await call(r, aliceIds, { cookie: c.cookie, csrf: c.csrf })).status).toBe(401));
      });

      it('expired session (30 days idle): 401, only the expiry itself is recorded', async () => {
        const now = w.clock.t;
        w.clock.t = now - SESSION_IDLE_MS - 60_000;
        const c = await w.pair(w.alice);
        w.clock.t = now;
        const head = (await w.app.auditHead()).seq;
        const before = JSON.parse(await snapshot(w));
        expect((await call(r, aliceIds, { cookie: c.cookie, csrf: c.csrf })).status).toBe(401);
        const after = JSON.parse(await snapshot(w));
        expect(after.per).toEqual(before.per);
        expect(after.sessions).toEqual(before.sessions.filter((s: { ref: string }) => s.ref !== c.sessionRef));
        const added = (await w.app.auditLog()).filter((e) => e.seq > head);
        expect(added.map((e) => [e.type, e.ownerId, e.detail?.['reason']])).toEqual([['web.session-ended', w.alice, 'idle-expired']]);
      });

      if (r.method === 'POST') {
        it('cross-origin POST with a valid session: 403, nothing changed', async () => {
          for (const origin of ['http://evil.example', 'null', w.base.replace('127.0.0.1', 'localhost.evil.example')]) {
            await unchanged(async () => expect((await call(r, aliceIds, { cookie: alice.cookie, csrf: alice.csrf, origin })).status).toBe(403));
          }
          // No Origin at all, a cross-site fetch marker, and the page's Origin without the CSRF token.
          await unchanged(async () => expect((await call(r, aliceIds, { cookie: alice.cookie, csrf: alice.csrf, origin: null })).status).toBe(403));
          await unchanged(async () =>
            expect((await call(r, aliceIds, { cookie: alice.cookie, csrf: alice.csrf, headers: { 'Sec-Fetch-Site': 'cross-site' } })).status).toBe(403),
          );
          await unchanged(async () => expect((await call(r, aliceIds, { cookie: alice.cookie })).status).toBe(403));
          await unchanged(async () => expect((await call(r, aliceIds, { cookie: alice.cookie, csrf: bob.csrf })).status).toBe(403));
          // A simple (no-preflight) cross-site form post: text/plain is not even parsed.
          const form = await send(w.base, 'POST', r.path(aliceIds), { cookie: alice.cookie, csrf: alice.csrf, body: 'x', headers: { 'Content-Type': 'text/plain' } });
          expect([403, 415]).toContain(form.status);
        });
      } else {
        it('cross-site GET (Sec-Fetch-Site: cross-site) with a valid session: 403, nothing changed', async () => {
          await unchanged(async () => expect((await call(r, aliceIds, { cookie: alice.cookie, headers: { 'Sec-Fetch-Site': 'cross-site' } })).status).toBe(403));
        });
      }

      if (r.idRoute) {
        it("another owner's id: 404 exactly like an id that never existed, nothing changed", async () => {
          let foreign: Awaited<ReturnType<typeof call>> | undefined;
          let unknown: Awaited<ReturnType<typeof call>> | undefined;
          await unchanged(async () => {
            foreign = await call(r, aliceIds, { cookie: bob.cookie, csrf: bob.csrf });
            unknown = await call(r, nobody, { cookie: bob.cookie, csrf: bob.csrf });
          });
          expect(foreign!.status).toBe(404);
          expect(unknown!.status).toBe(404);
          expect(foreign!.body.toString()).toBe(unknown!.body.toString());
          expect(foreign!.headers['content-type']).toBe(unknown!.headers['content-type']);
          // No integrity incident was filed for Bob (that would answer differently and tell him something).
          expect(await w.app.notices(w.bob)).toHaveLength(1);
        });
      } else if (r.name !== 'POST /api/logout' && r.name !== 'POST /api/erase') {
        // (Signing Bob out or erasing him would end the other tests; both are covered for Alice in test/web/server.test.ts.)
        it("Bob's session shows nothing of Alice's", async () => {
          const res = await call(r, bobIds, { cookie: bob.cookie, csrf: bob.csrf });
          const text = res.body.toString('latin1');
          for (const secret of [w.alice, alice.sessionRef, 'Alice Example', ...w.aliceRecordings]) expect(text).not.toContain(secret);
        });
      }
    });
  }

  it('a request under a foreign Host name (DNS rebinding) is refused before any route', async () => {
    for (const r of ROUTES) {
      await unchanged(async () => {
        const res = await call(r, aliceIds, { cookie: alice.cookie, csrf: alice.csrf, headers: { Host: `evil.example:${w.page.port}` } });
        expect(res.status).toBe(421);
      });
    }
  });

  it("positive controls: each id route works for the id's own owner", async () => {
    const ok = async (r: Route, c: Client, ids: Ids) => (await call(r, ids, { cookie: c.cookie, csrf: c.csrf })).status;
    const byName = (n: string) => ROUTES.find((r) => r.name === n)!;
    expect(await ok(byName('GET /api/recordings/:id/audio'), alice, aliceIds)).toBe(200);
    expect(await ok(byName('GET /api/export/:token'), alice, aliceIds)).toBe(200); // Bob's tries did not use it up
    expect(await ok(byName('GET /api/export/:token'), alice, aliceIds)).toBe(404); // one use
    expect(await ok(byName('POST /api/recordings/:id/false-wake'), alice, aliceIds)).toBe(200);
    expect(await ok(byName('POST /api/notices/:id/ack'), alice, aliceIds)).toBe(200);
    expect(await ok(byName('POST /api/recordings/delete'), alice, aliceIds)).toBe(200);
    expect(await recordingIds(w, w.alice)).not.toContain(aliceIds.recording);
    expect(await recordingIds(w, w.bob)).toHaveLength(w.bobRecordings.length);
    expect(await ok(byName('POST /api/sessions/:ref/revoke'), bob, bobIds)).toBe(200);
    expect((await send(w.base, 'GET', '/api/session', { cookie: bob.cookie })).status).toBe(401);
    // Alice's changes are audited as hers, from the page.
    const mine = (await w.app.auditLog({ ownerId: w.alice })).filter((e) => ['recording.played', 'recording.flagged', 'recording.deleted', 'notice.acknowledged'].includes(e.type));
    expect(mine.map((e) => e.detail?.['source'])).toEqual(['owner-page', 'owner-page', 'owner-page', 'owner-page']);
  });
});
