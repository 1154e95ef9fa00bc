/**
 * `earshot web` (serve the owner's page), `earshot web pair`, `earshot web sessions [revoke]`,
 * `earshot web cert` and `earshot notices`.
 */
import os from 'node:os';
import type { DeviceConfig } from '../../config/index.js';
import { EarshotError } from '../../core/index.js';
import { createLogger } from '../../core/index.js';
import {
  SESSION_IDLE_MS,
  AppOwnerBackend,
  createPairingLink,
  makeDeviceCert,
  pageTls,
  startOwnerPage,
  terminalQr,
  type TlsMaterial,
} from '../../web/index.js';
import { stringOption, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { commandConfig, withApp } from '../command-context.js';

const DEFAULT_PORT = 8440;
const json = (args: ParsedArgs) => args.values['json'] === true;
const iso = (ms: number) => new Date(ms).toISOString();

const SERVE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  tls: { type: 'boolean' },
} as const;

const SERVE_HELP = [
  '  --host ADDR     address to listen on (default web.host of the config, 127.0.0.1: this device only). Any other address, e.g.',
  '                  0.0.0.0 for the home network, needs TLS: the device certificate (`earshot web cert`)',
  '                  is used when present, or --cert/--key.',
  `  --port N        port (default web.port of the config, ${DEFAULT_PORT})`,
  '  --cert FILE --key FILE   a certificate and key of your own (PEM) instead of the device certificate',
  '  --tls           use TLS on 127.0.0.1 too',
].join('\n');

function portOf(args: ParsedArgs, config: DeviceConfig): number {
  const raw = stringOption(args, 'port');
  if (raw === undefined) return config.web.port;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new EarshotError('BAD_ARGUMENT', `--port must be a port number 0–65535 (got ${raw})`);
  return Number(raw);
}

const hostOf = (args: ParsedArgs, config: DeviceConfig) => stringOption(args, 'host') ?? config.web.host;

/** The TLS material to use (flags first, then the config's web.certFile/keyFile), or undefined for plain HTTP on loopback. */
async function tlsFor(args: ParsedArgs, config: DeviceConfig, forceTls = false): Promise<TlsMaterial | undefined> {
  const cert = stringOption(args, 'cert');
  const key = stringOption(args, 'key');
  if ((cert === undefined) !== (key === undefined)) throw new EarshotError('BAD_ARGUMENT', '--cert and --key go together');
  return pageTls({
    host: hostOf(args, config),
    certFile: cert ?? config.web.certFile,
    keyFile: key ?? config.web.keyFile,
    forceTls: forceTls || args.values['tls'] === true,
    dataDir: config.dataDir,
  });
}

/** The address a phone on the home network opens: the first non-internal IPv4 address for a wildcard host. */
function publicHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

function baseUrlFor(args: ParsedArgs, config: DeviceConfig, tls: boolean, port: number): string {
  const explicit = stringOption(args, 'url');
  if (explicit !== undefined) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(explicit)) throw new EarshotError('BAD_ARGUMENT', `--url must be like https://speaker.local:${DEFAULT_PORT} (got ${explicit})`);
    return explicit;
  }
  const h = publicHost(hostOf(args, config));
  return `${tls ? 'https' : 'http'}://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

async function printPairing(io: CommandIO, args: ParsedArgs, p: { ownerId: string; link: string; expiresAt: number }, fingerprint: string | undefined): Promise<void> {
  if (json(args)) {
    writeLine(io.stdout, JSON.stringify({ ownerId: p.ownerId, link: p.link, expiresAt: iso(p.expiresAt), fingerprint256: fingerprint ?? null }));
    return;
  }
  writeLine(io.stdout, `Pairing link for owner ${p.ownerId} (works once, until ${iso(p.expiresAt)}):`);
  writeLine(io.stdout, `  ${p.link}`);
  if (args.values['no-qr'] !== true) writeLine(io.stdout, await terminalQr(p.link));
  if (fingerprint) writeLine(io.stdout, `Certificate SHA-256 fingerprint (compare it with what the browser shows):\n  ${fingerprint}`);
}

const serve: Command = {
  path: ['web'],
  summary: "serve the owners' own page (recordings, privacy, export, erase) until stopped",
  usage: 'earshot web [--host ADDR] [--port N] [--cert FILE --key FILE] [--tls] [--pair [--owner ID]] [--json]',
  help: SERVE_HELP + '\n  --pair          also print a pairing link (for --owner ID, default the active owner)\nSubcommands: web pair, web sessions, web sessions revoke, web cert.',
  options: { ...SERVE_OPTIONS, pair: { type: 'boolean' }, owner: { type: 'string' }, 'no-qr': { type: 'boolean' } },
  async run(args, io) {
    const config = await commandConfig(args, io);
    const tls = await tlsFor(args, config);
    return withApp(args, io, async (app, { config: cfg }) => {
      const clock = app.deps.clock;
      const backend = new AppOwnerBackend(app);
      const page = await startOwnerPage({
        backend,
        clock,
        host: hostOf(args, cfg),
        port: portOf(args, cfg),
        ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
        logger: createLogger({ level: cfg.log.level, out: io.stderr }),
      });
      const base = baseUrlFor(args, cfg, page.tls, page.port);
      if (json(args)) writeLine(io.stdout, JSON.stringify({ url: base, fingerprint256: tls?.fingerprint256 ?? null }));
      else {
        writeLine(io.stdout, `The owner's page is at ${base}${page.tls ? '' : ' (this device only)'}`);
        if (tls) writeLine(io.stdout, `Certificate SHA-256 fingerprint: ${tls.fingerprint256}`);
        writeLine(io.stdout, 'Pair a browser with `earshot web pair` (in another terminal). Stop with Ctrl-C.');
      }
      if (args.values['pair'] === true) {
        const owner = stringOption(args, 'owner');
        const p = await createPairingLink(backend, { baseUrl: base, clock, source: 'owner-cli', ...(owner !== undefined ? { ownerId: owner } : {}) });
        await printPairing(io, args, p, tls?.fingerprint256);
      }
      await new Promise<void>((resolve) => {
        if (io.signal.aborted) return resolve();
        io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await page.close();
      return 0;
    });
  },
};

const pair: Command = {
  path: ['web', 'pair'],
  summary: 'print a one-time pairing link (and QR code) that signs one browser in as one owner',
  usage: 'earshot web pair [--owner ID] [--url BASE | --host ADDR --port N] [--no-qr] [--json]',
  help: [
    'The link works once, for 10 minutes, and starts a session for exactly that owner (default: the active owner).',
    '  --url BASE      the address the browser opens, e.g. https://speaker.local:8440 (default from --host/--port,',
    `                  as for \`earshot web\`: http://127.0.0.1:${DEFAULT_PORT})`,
    '  --no-qr         do not draw the QR code',
  ].join('\n'),
  options: { owner: { type: 'string' }, url: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, tls: { type: 'boolean' }, cert: { type: 'string' }, key: { type: 'string' }, 'no-qr': { type: 'boolean' } },
  async run(args, io) {
    const config = await commandConfig(args, io);
    const explicitUrl = stringOption(args, 'url');
    // The fingerprint printed is of the certificate the page serves: the one an https link will show.
    const tls =
      explicitUrl === undefined
        ? await tlsFor(args, config)
        : explicitUrl.startsWith('https://')
          ? await tlsFor(args, config, true)
          : undefined;
    return withApp(args, io, async (app, { config: cfg }) => {
      const backend = new AppOwnerBackend(app);
      const owner = stringOption(args, 'owner');
      const p = await createPairingLink(backend, {
        baseUrl: baseUrlFor(args, cfg, tls !== undefined, portOf(args, cfg)),
        clock: app.deps.clock,
        source: 'owner-cli',
        ...(owner !== undefined ? { ownerId: owner } : {}),
      });
      await printPairing(io, args, p, tls?.fingerprint256);
      return 0;
    });
  },
};

const sessions: Command = {
  path: ['web', 'sessions'],
  summary: 'list the browsers paired with the owner page (created, last seen, browser)',
  usage: 'earshot web sessions [--owner ID] [--json]',
  options: { owner: { type: 'string' } },
  async run(args, io) {
    return withApp(args, io, async (app, { config: cfg }) => {
      const backend = new AppOwnerBackend(app);
      const owner = stringOption(args, 'owner');
      if (owner !== undefined) await backend.resolveOwner(owner);
      await backend.endSessions({ idleBefore: app.deps.clock.now() - SESSION_IDLE_MS }, 'idle-expired', 'owner-cli');
      const list = await backend.listSessions(owner);
      if (json(args)) {
        writeLine(io.stdout, JSON.stringify(list.map((s) => ({ ...s, createdAt: iso(s.createdAt), lastSeenAt: iso(s.lastSeenAt) }))));
      } else if (list.length === 0) {
        writeLine(io.stdout, 'no paired browsers');
      } else {
        for (const s of list) writeLine(io.stdout, `${s.ref}  owner ${s.ownerId}  ${s.browser}  paired ${iso(s.createdAt)}  last seen ${iso(s.lastSeenAt)}`);
      }
      return 0;
    });
  },
};

const revoke: Command = {
  path: ['web', 'sessions', 'revoke'],
  summary: 'sign paired browsers out: one session, all of an owner, or all',
  usage: 'earshot web sessions revoke SESSION | --owner ID | --all [--json]',
  options: { owner: { type: 'string' }, all: { type: 'boolean' } },
  allowPositionals: true,
  async run(args, io) {
    const owner = stringOption(args, 'owner');
    const all = args.values['all'] === true;
    const ref = args.positionals[0];
    const chosen = [ref !== undefined, owner !== undefined, all].filter(Boolean).length;
    if (chosen !== 1 || args.positionals.length > 1) throw new EarshotError('BAD_ARGUMENT', 'name exactly one of: a session (from `earshot web sessions`), --owner ID, or --all');
    return withApp(args, io, async (app, { config: cfg }) => {
      const backend = new AppOwnerBackend(app);
      if (owner !== undefined) await backend.resolveOwner(owner);
      const which = ref !== undefined ? { ref } : owner !== undefined ? { ownerId: owner } : { all: true as const };
      const n = await backend.endSessions(which, 'revoked', 'owner-cli');
      if (ref !== undefined && n === 0) throw new EarshotError('BAD_ARGUMENT', `no session ${ref} (earshot web sessions lists them)`);
      if (json(args)) writeLine(io.stdout, JSON.stringify({ ended: n }));
      else writeLine(io.stdout, `${n} session(s) ended`);
      return 0;
    });
  },
};

const cert: Command = {
  path: ['web', 'cert'],
  summary: "make the device's TLS certificate for the owner page and print its SHA-256 fingerprint",
  usage: 'earshot web cert [--replace] [--name HOST]... [--json]',
  help: 'Self-signed (ECDSA P-256, via the system `openssl`), for this device\'s host names and addresses; stored in the data directory (key 0600).\n  --name HOST   another name or address the page is reached under (repeatable)\n  --replace     make a new one (browsers will then show a new fingerprint)',
  options: { replace: { type: 'boolean' }, name: { type: 'string', multiple: true } },
  async run(args, io) {
    const config = await commandConfig(args, io);
    const names = (args.values['name'] as string[] | undefined) ?? [];
    const t = await makeDeviceCert(config.dataDir, { replace: args.values['replace'] === true, extraNames: names });
    if (json(args)) writeLine(io.stdout, JSON.stringify({ certFile: t.certFile, fingerprint256: t.fingerprint256, validTo: t.validTo }));
    else writeLine(io.stdout, `made ${t.certFile} (valid until ${t.validTo})\nSHA-256 fingerprint: ${t.fingerprint256}`);
    return 0;
  },
};

const notices: Command = {
  path: ['notices'],
  summary: 'list the notices for an owner (incidents that concern them), as the owner page shows them',
  usage: 'earshot notices [--owner ID] [--json]',
  options: { owner: { type: 'string' } },
  async run(args, io) {
    return withApp(args, io, async (app, { config: cfg }) => {
      const backend = new AppOwnerBackend(app);
      const ownerId = await backend.resolveOwner(stringOption(args, 'owner'));
      const list = await backend.notices(ownerId);
      if (json(args)) writeLine(io.stdout, JSON.stringify({ ownerId, notices: list.map((n) => ({ ...n, at: iso(n.at) })) }));
      else if (list.length === 0) writeLine(io.stdout, `no notices for owner ${ownerId}`);
      else for (const n of list) writeLine(io.stdout, `#${n.id}  ${iso(n.at)}  ${n.kind}${n.acknowledged ? ' (acknowledged)' : ''}: ${n.message}`);
      return 0;
    });
  },
};

export const commands: Command[] = [serve, pair, sessions, revoke, cert, notices];
