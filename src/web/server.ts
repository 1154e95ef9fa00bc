/**
 * The owner's page over HTTP(S) (Fastify): the page's own files, pairing, and the owner API. Every API route
 * resolves its owner from the session cookie alone and passes only that owner to the OwnerBackend; no
 * request field ever names an owner. Loopback by default; anything else needs TLS.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Clock } from '../core/index.js';
import { EarshotError, errorMessage, isEarshotError } from '../core/index.js';
import { silentLogger, type Logger } from '../core/index.js';
import { browserLabel } from './browser-label.js';
import { clearedSessionCookie, readCookie, sessionCookie, sessionCookieName } from './cookies.js';
import type { OwnerBackend } from './owner-backend.js';
import { PairingThrottle, type ThrottleOptions } from './pairing-throttle.js';
import { SECURITY_HEADERS, allowedHosts, allowedOrigins, isLoopback, sameOriginChange } from './request-guard.js';
import { SESSION_IDLE_MS, TOUCH_INTERVAL_MS, csrfMatches, csrfToken, hashSecret, isExpired, looksLikeSecret, newSecret, newSessionRef } from './secrets.js';

const STATIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'web', 'static');
const ASSETS: Record<string, { file: string; type: string }> = {
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/assets/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};
const PAGE_PATHS = ['/', '/pair'];
const PAGE_SIZE = 20;
const EXPORT_LINK_MS = 60_000;
const RECORDING_ID = /^[A-Za-z0-9_.:-]{1,96}$/;

export interface OwnerPageOptions {
  backend: OwnerBackend;
  clock: Clock;
  /** Address to listen on; default 127.0.0.1. Anything but loopback needs `tls`. */
  host?: string;
  /** Default 8440; 0 picks a free port. */
  port?: number;
  tls?: { cert: string; key: string };
  /** More names the page is reached under (e.g. a LAN host name). */
  hostNames?: string[];
  throttle?: ThrottleOptions;
  logger?: Logger;
}

export interface OwnerPage {
  /** e.g. http://127.0.0.1:8440 */
  url: string;
  port: number;
  tls: boolean;
  close(): Promise<void>;
}

interface Session {
  ownerId: string;
  ref: string;
  id: string;
  idHash: string;
  /** last_seen was just moved on: the cookie's lifetime is renewed with it (30 days idle, not 30 days from pairing). */
  touched: boolean;
}

type Handler = (req: FastifyRequest, reply: FastifyReply, s: Session) => Promise<unknown>;

const NOT_FOUND_BODY = { error: 'not-found', message: 'Not found.' };

export async function startOwnerPage(opts: OwnerPageOptions): Promise<OwnerPage> {
  const host = opts.host ?? '127.0.0.1';
  const tls = opts.tls !== undefined;
  if (!isLoopback(host) && !tls) {
    throw new EarshotError(
      'WEB_TLS',
      `listening on ${host} (beyond this device) needs TLS: run \`earshot web cert\` to make the device certificate, or pass --cert FILE --key FILE`,
    );
  }
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const [url, a] of Object.entries(ASSETS)) assets.set(url, { body: readFileSync(path.join(STATIC_DIR, a.file)), type: a.type });
  const page = readFileSync(path.join(STATIC_DIR, 'index.html'));

  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    trustProxy: false,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' as const } } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  // Only JSON bodies: a cross-site <form> can send text/plain or form data without a preflight.
  app.removeContentTypeParser('text/plain');

  const log = opts.logger ?? silentLogger;
  const throttle = new PairingThrottle(opts.clock, opts.throttle);
  const backend = opts.backend;
  let hosts = new Set<string>();
  let origins = new Set<string>();
  const cookieName = sessionCookieName(tls);

  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    const h = (req.headers.host ?? '').toLowerCase();
    if (!hosts.has(h)) {
      return reply.code(421).type('application/json').send({ error: 'wrong-host', message: 'This page answers only under the speaker\'s own address.' });
    }
    return undefined;
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send(NOT_FOUND_BODY));
  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = err as { validation?: unknown; statusCode?: number; message?: string };
    if (e.validation || e.statusCode === 400 || e.statusCode === 415 || e.statusCode === 413) {
      return reply.code(e.statusCode && e.statusCode !== 500 ? e.statusCode : 400).send({ error: 'bad-request', message: e.message ?? 'bad request' });
    }
    if (isEarshotError(err)) {
      switch (err.code) {
        case 'NOT_FOUND':
        case 'UNKNOWN_RECORDING':
        case 'UNKNOWN_OWNER': // erased between the session check and the operation
          return reply.code(404).send(NOT_FOUND_BODY);
        case 'EXPORT_ABORTED':
          return reply.code(500).send({ error: 'export-aborted', message: 'The export was stopped because a check failed; nothing was written. You have been sent a notice.' });
        case 'BAD_ARGUMENT':
          return reply.code(400).send({ error: 'bad-request', message: err.message });
        case 'LOCAL_ONLY':
          return reply.code(409).send({ error: 'forced-by-fleet', message: err.message });
        case 'INTEGRITY':
          log.warn('owner page: an integrity check failed', { code: err.code });
          return reply.code(500).send({ error: 'integrity', message: 'This item failed its integrity check and was not opened. You have been sent a notice.' });
        default:
          break;
      }
    }
    log.error('owner page: request failed', { error: errorMessage(err) });
    return reply.code(500).send({ error: 'internal', message: 'Something went wrong on the speaker; please try again.' });
  });

  // ── the page's own files
  for (const p of PAGE_PATHS) app.get(p, async (_req, reply) => reply.type('text/html; charset=utf-8').send(page));
  for (const [url, a] of assets) app.get(url, async (_req, reply) => reply.type(a.type).send(a.body));

  // ── sessions
  async function sessionOf(req: FastifyRequest): Promise<Session | undefined> {
    const id = readCookie(req.headers.cookie, cookieName);
    if (id === undefined || !looksLikeSecret(id)) return undefined;
    const idHash = hashSecret(id);
    const row = await backend.findSession(idHash);
    if (!row) return undefined;
    const now = opts.clock.now();
    if (isExpired(row.lastSeenAt, now)) {
      await backend.endSessions({ ref: row.ref }, 'idle-expired', 'owner-page');
      return undefined;
    }
    const touched = now - row.lastSeenAt >= TOUCH_INTERVAL_MS;
    if (touched) await backend.touchSession(idHash, now);
    return { ownerId: row.ownerId, ref: row.ref, id, idHash, touched };
  }

  /** An API route: a live session, and for a change the page's own Origin and the session's CSRF token. */
  function api(method: 'GET' | 'POST', url: string, handler: Handler, schema?: object): void {
    app.route({
      method,
      url,
      ...(schema ? { schema: { body: schema } } : {}),
      preValidation: async (req, reply) => {
        if (method === 'POST' && !sameOriginChange(req.headers, origins)) {
          return reply.code(403).send({ error: 'cross-origin', message: 'Changes are accepted only from the page itself.' });
        }
        if (method === 'GET' && req.headers['sec-fetch-site'] !== undefined && !['same-origin', 'none'].includes(String(req.headers['sec-fetch-site']))) {
          return reply.code(403).send({ error: 'cross-origin', message: 'This is only readable from the page itself.' });
        }
        const s = await sessionOf(req);
        if (!s) {
          if (req.headers.cookie?.includes(`${cookieName}=`)) reply.header('Set-Cookie', clearedSessionCookie(tls));
          return reply.code(401).send({ error: 'no-session', message: 'This browser is not paired. Open a pairing link made with `earshot web pair`.' });
        }
        if (method === 'POST' && !csrfMatches(s.id, header(req, 'x-csrf-token'))) {
          return reply.code(403).send({ error: 'csrf', message: 'The request is missing the page\'s token; reload the page.' });
        }
        if (s.touched) reply.header('Set-Cookie', sessionCookie(tls, s.id));
        (req as FastifyRequest & { session?: Session }).session = s;
        return undefined;
      },
      handler: async (req, reply) => handler(req, reply, (req as FastifyRequest & { session?: Session }).session!),
    });
  }

  app.post('/api/pair', { schema: { body: obj({ code: { type: 'string', maxLength: 200 } }, ['code']) } }, async (req, reply) => {
    if (!sameOriginChange(req.headers, origins)) return reply.code(403).send({ error: 'cross-origin', message: 'Pairing is accepted only from the page itself.' });
    const client = req.ip;
    const verdict = throttle.check(client);
    if (!verdict.allowed) {
      const secs = Math.ceil(verdict.retryAfterMs / 1000);
      reply.header('Retry-After', String(secs));
      return reply.code(429).send({
        error: verdict.locked ? 'locked-out' : 'slow-down',
        message: verdict.locked
          ? `Too many wrong pairing links from this browser. Pairing is blocked for ${Math.ceil(secs / 60)} minutes; the owners have been told.`
          : `Too many wrong pairing links. Wait ${secs} seconds before trying again.`,
        retryAfterSeconds: secs,
      });
    }
    const code = (req.body as { code: string }).code;
    const id = newSecret();
    const result = looksLikeSecret(code)
      ? await backend.redeemPairing(hashSecret(code), { idHash: hashSecret(id), ref: newSessionRef(), browser: browserLabel(header(req, 'user-agent')) })
      : ({ status: 'unknown' } as const);
    if (result.status !== 'ok') {
      const f = throttle.fail(client);
      if (f.lockedNow) await backend.recordPairingLockout({ failures: f.failures, lockedForMs: opts.throttle?.lockMs ?? 15 * 60_000 });
      const message = {
        unknown: 'This pairing link is not valid. Check that you opened the whole link, or make a new one with `earshot web pair`.',
        used: 'This pairing link was already used. Each link pairs one browser once; make a new one with `earshot web pair`.',
        expired: 'This pairing link has expired (links last 10 minutes). Make a new one with `earshot web pair`.',
      }[result.status];
      return reply.code(400).send({ error: 'pairing-refused', reason: result.status, message });
    }
    throttle.succeed(client);
    // A browser holds one session: pairing again (as anyone) ends the one it had.
    const previous = await sessionOf(req);
    if (previous) await backend.endSessions({ ref: previous.ref }, 'replaced', 'owner-page');
    reply.header('Set-Cookie', sessionCookie(tls, id));
    return { ok: true };
  });

  api('GET', '/api/session', async (_req, _reply, s) => ({ ownerId: s.ownerId, name: await backend.ownerName(s.ownerId), session: s.ref, csrf: csrfToken(s.id), tls }));

  api('POST', '/api/logout', async (_req, reply, s) => {
    await backend.endSessions({ ref: s.ref, ownerId: s.ownerId }, 'signed-out', 'owner-page');
    reply.header('Set-Cookie', clearedSessionCookie(tls));
    return { ok: true };
  }, obj({}));

  api('GET', '/api/recordings', async (req, _reply, s) => {
    const raw = (req.query as Record<string, string | undefined>)['page'] ?? '0';
    const page = /^\d{1,6}$/.test(raw) ? Number(raw) : 0;
    return backend.listRecordings(s.ownerId, page, PAGE_SIZE);
  });

  api('GET', '/api/recordings/:id/audio', async (req, reply, s) => {
    const id = recordingId(req);
    const { wav } = await backend.openForPlayback(s.ownerId, id);
    return reply.type('audio/wav').header('Content-Disposition', 'inline').header('Content-Length', String(wav.length)).send(wav);
  });

  api('POST', '/api/recordings/delete', async (req, _reply, s) => {
    const ids = (req.body as { ids: string[] }).ids;
    if (!ids.every((i) => RECORDING_ID.test(i))) throw new EarshotError('NOT_FOUND', 'not found');
    return { deleted: await backend.deleteRecordings(s.ownerId, [...new Set(ids)]) };
  }, obj({ ids: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', maxLength: 96 } } }, ['ids']));

  api('POST', '/api/recordings/:id/false-wake', async (req, _reply, s) => {
    const on = (req.body as { on: boolean }).on;
    await backend.flagFalseWake(s.ownerId, recordingId(req), on);
    return { ok: true, falseWake: on };
  }, obj({ on: { type: 'boolean' } }, ['on']));

  api('GET', '/api/privacy', async (_req, _reply, s) => backend.privacy(s.ownerId));
  api('POST', '/api/privacy/local-only', async (req, _reply, s) => backend.setLocalOnly(s.ownerId, (req.body as { on: boolean }).on), obj({ on: { type: 'boolean' } }, ['on']));
  api('POST', '/api/privacy/consent', async (req, _reply, s) => {
    const b = req.body as { purpose: string; action: 'grant' | 'withdraw'; textVersion: string };
    return backend.setConsent(s.ownerId, b.purpose, b.action, b.textVersion);
  }, obj({ purpose: { type: 'string', maxLength: 64 }, action: { enum: ['grant', 'withdraw'] }, textVersion: { type: 'string', minLength: 1, maxLength: 64 } }, ['purpose', 'action', 'textVersion']));
  api('POST', '/api/privacy/retention', async (req, _reply, s) => backend.setRetention(s.ownerId, (req.body as { days: number }).days), obj({ days: { type: 'integer', minimum: 0, maximum: 36500 } }, ['days']));

  // Two steps, so a phone saves a large bundle straight to a file (a link it follows) instead of holding it in
  // memory: the POST (Origin + CSRF checked) makes a one-time link for this session, valid for a minute; the GET
  // builds and streams the bundle. The passphrase waits in memory only, for at most that minute.
  const exportLinks = new Map<string, { sessionRef: string; ownerId: string; passphrase: string | undefined; expiresAt: number }>();
  api('POST', '/api/export', async (req, _reply, s) => {
    const pass = (req.body as { passphrase?: string }).passphrase;
    const now = opts.clock.now();
    for (const [k, v] of exportLinks) if (v.expiresAt <= now) exportLinks.delete(k);
    const token = newSecret();
    exportLinks.set(token, { sessionRef: s.ref, ownerId: s.ownerId, passphrase: pass === undefined || pass === '' ? undefined : pass, expiresAt: now + EXPORT_LINK_MS });
    return { download: `/api/export/${token}`, expiresInSeconds: EXPORT_LINK_MS / 1000 };
  }, obj({ passphrase: { type: 'string', maxLength: 1024, pattern: '^(|.{8,})$' } }));

  api('GET', '/api/export/:token', async (req, reply, s) => {
    const token = (req.params as { token: string }).token;
    const link = exportLinks.get(token);
    // Another session's link answers like one that never existed (and stays usable by its own session).
    if (!link || link.sessionRef !== s.ref || link.ownerId !== s.ownerId) throw new EarshotError('NOT_FOUND', 'not found');
    exportLinks.delete(token);
    if (link.expiresAt <= opts.clock.now()) throw new EarshotError('NOT_FOUND', 'not found');
    const dl = await backend.exportBundle(s.ownerId, link.passphrase);
    dl.stream.on('close', () => void dl.done());
    dl.stream.on('error', () => void dl.done());
    return reply
      .type(dl.contentType)
      .header('Content-Disposition', `attachment; filename="${dl.fileName}"`)
      .header('Content-Length', String(dl.bytes))
      .header('X-Bundle-SHA256', dl.sha256)
      .send(dl.stream);
  });

  api('POST', '/api/erase', async (req, reply, s) => {
    if ((req.body as { confirm: string }).confirm !== 'ERASE') {
      throw new EarshotError('BAD_ARGUMENT', 'type ERASE (in capitals) to confirm that everything should be erased');
    }
    const r = await backend.erase(s.ownerId);
    reply.header('Set-Cookie', clearedSessionCookie(tls));
    return { erased: true, recordings: r.recordings };
  }, obj({ confirm: { type: 'string', maxLength: 64 } }, ['confirm']));

  api('GET', '/api/activity', async (_req, _reply, s) => ({ entries: await backend.activity(s.ownerId, 200) }));
  api('GET', '/api/speaker', async (_req, _reply, s) => backend.speaker(s.ownerId));
  api('GET', '/api/notices', async (_req, _reply, s) => ({ notices: await backend.notices(s.ownerId) }));
  api('POST', '/api/notices/:id/ack', async (req, _reply, s) => {
    const raw = (req.params as { id: string }).id;
    if (!/^\d{1,15}$/.test(raw) || !(await backend.ackNotice(s.ownerId, Number(raw)))) throw new EarshotError('NOT_FOUND', 'not found');
    return { ok: true };
  }, obj({}));

  api('GET', '/api/sessions', async (_req, _reply, s) => ({
    sessions: (await backend.listSessions(s.ownerId)).map((x) => ({ ref: x.ref, createdAt: x.createdAt, lastSeenAt: x.lastSeenAt, browser: x.browser, current: x.ref === s.ref })),
  }));
  api('POST', '/api/sessions/:ref/revoke', async (req, reply, s) => {
    const ref = (req.params as { ref: string }).ref;
    if (!/^ses-[0-9a-f]{12}$/.test(ref) || (await backend.endSessions({ ref, ownerId: s.ownerId }, 'revoked', 'owner-page')) === 0) {
      throw new EarshotError('NOT_FOUND', 'not found');
    }
    if (ref === s.ref) reply.header('Set-Cookie', clearedSessionCookie(tls));
    return { ok: true };
  }, obj({}));

  let port: number;
  try {
    await app.listen({ host, port: opts.port ?? 8440 });
    port = (app.server.address() as { port: number }).port;
  } catch (e) {
    await app.close().catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new EarshotError('WEB_LISTEN', `port ${opts.port ?? 8440} on ${host} is already in use (another \`earshot web\`?); pick another with --port`);
    if (code === 'EACCES') throw new EarshotError('WEB_LISTEN', `not allowed to listen on port ${opts.port ?? 8440} (ports below 1024 need privileges); pick another with --port`);
    if (code === 'EADDRNOTAVAIL') throw new EarshotError('WEB_LISTEN', `${host} is not an address of this device; use --host with one of its addresses, or 0.0.0.0`);
    throw new EarshotError('WEB_LISTEN', `could not listen on ${host}:${opts.port ?? 8440}: ${errorMessage(e)}`);
  }
  // Sessions idle for 30 days end even if their browser never comes back: at start and hourly.
  const sweepIdle = () =>
    backend.endSessions({ idleBefore: opts.clock.now() - SESSION_IDLE_MS }, 'idle-expired', 'owner-page').catch((e: unknown) => {
      log.warn('owner page: ending idle sessions failed', { error: errorMessage(e) });
      return 0;
    });
  await sweepIdle();
  const sweeper = setInterval(() => void sweepIdle(), 3600_000);
  sweeper.unref();
  hosts = allowedHosts(host, port, opts.hostNames);
  origins = allowedOrigins(hosts, tls);
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `${tls ? 'https' : 'http'}://${shown.includes(':') ? `[${shown}]` : shown}:${port}`,
    port,
    tls,
    close: async () => {
      clearInterval(sweeper);
      await app.close();
    },
  };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function recordingId(req: FastifyRequest): string {
  const id = (req.params as { id: string }).id;
  // A malformed id never existed: the same answer as any other unknown id.
  if (!RECORDING_ID.test(id)) throw new EarshotError('NOT_FOUND', 'not found');
  return id;
}

function obj(properties: Record<string, object>, required: string[] = []): object {
  return { type: 'object', additionalProperties: false, properties, required };
}
