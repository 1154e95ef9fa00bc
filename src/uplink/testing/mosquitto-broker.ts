/**
 * Starts a real Mosquitto (/usr/sbin/mosquitto) for tests and the uplink benchmark: its own config and
 * persistence in a temp dir, a free port on 127.0.0.1, and (with TLS) a CA, server certificate and
 * per-client certificates made with openssl at start time. The ACL is the shipped template
 * device-config/mosquitto/acl. Never touches the system broker.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EarshotError } from '../../core/index.js';

export const MOSQUITTO_BIN = process.env['EARSHOT_MOSQUITTO'] ?? '/usr/sbin/mosquitto';

export interface ClientCert {
  certFile: string;
  keyFile: string;
}

export interface TestBroker {
  /** mqtts://localhost:PORT with TLS, mqtt://127.0.0.1:PORT without. */
  readonly url: string;
  readonly port: number;
  /** The test CA (undefined without TLS). */
  readonly caFile: string | undefined;
  readonly dir: string;
  /** A certificate with CN = cn signed by the broker's CA (cached per cn). */
  clientCert(cn: string): ClientCert;
  /** A certificate with CN = cn signed by an unrelated CA the broker does not trust. */
  foreignClientCert(cn: string): ClientCert;
  /** Graceful stop (SIGTERM; persistence is saved). */
  stop(): Promise<void>;
  /** SIGKILL: a crash, nothing saved beyond the last autosave. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the broker holds connections open but answers nothing (PUBACKs withheld). */
  pause(): void;
  resume(): void;
  /** Start again on the same port with the same persistence. */
  restart(): Promise<void>;
  /** stop() and remove the temp dir. */
  dispose(): Promise<void>;
  /** Mosquitto's log so far (for diagnosing a failing test). */
  log(): string;
}

export interface StartBrokerOptions {
  tls?: boolean;
  acl?: boolean;
  /** Replace the shipped ACL with this text. */
  aclText?: string;
  /** Extra mosquitto.conf lines. */
  extraConfig?: string[];
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'device-config'))) return dir;
    dir = dirname(dir);
  }
  throw new EarshotError('INTERNAL', 'cannot find the repository root (device-config/) from ' + fileURLToPath(import.meta.url));
}

export function shippedAclPath(): string {
  return join(repoRoot(), 'device-config', 'mosquitto', 'acl');
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new EarshotError('INTERNAL', `openssl ${args[0]} failed: ${stderr.trim().slice(0, 300)}`);
  }
}

/** A CA (EC P-256, valid 2 days) in dir/name.crt + dir/name.key. */
function makeCa(dir: string, name: string, cn: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`], dir);
}

function signCert(dir: string, ca: string, name: string, cn: string, ext: string): ClientCert {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', '0x' + randomBytes(8).toString('hex'), '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
}

function safeName(cn: string): string {
  return cn.replace(/[^A-Za-z0-9_.-]/g, '_');
}

async function waitForPort(port: number, proc: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new EarshotError('UPLINK_UNAVAILABLE', `mosquitto exited with ${proc.exitCode}: ${log().slice(-500)}`);
    const ok = await new Promise<boolean>((res) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new EarshotError('UPLINK_UNAVAILABLE', `mosquitto did not listen on ${port} within ${timeoutMs} ms: ${log().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** Starts a broker; throws (so tests fail, not skip) when mosquitto or openssl is missing. */
export async function startTestBroker(opts: StartBrokerOptions = {}): Promise<TestBroker> {
  if (!existsSync(MOSQUITTO_BIN)) {
    throw new EarshotError('UPLINK_UNAVAILABLE', `mosquitto not found at ${MOSQUITTO_BIN} (apt-get install mosquitto)`);
  }
  const tls = opts.tls ?? true;
  const dir = mkdtempSync(join(tmpdir(), 'earshot-mosquitto-'));
  const port = await freePort();
  const certs = new Map<string, ClientCert>();
  const foreign = new Map<string, ClientCert>();
  const conf: string[] = [
    'per_listener_settings false',
    `user ${userInfo().username}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'max_packet_size 2097152',
    'max_inflight_messages 64',
    'max_queued_messages 10000',
  ];
  if (opts.acl || opts.aclText) {
    const aclFile = join(dir, 'acl');
    writeFileSync(aclFile, opts.aclText ?? readFileSync(shippedAclPath(), 'utf8'));
    conf.push(`acl_file ${aclFile}`);
  }
  conf.push(`listener ${port} 127.0.0.1`, 'protocol mqtt');
  if (tls) {
    makeCa(dir, 'ca', 'Earshot Test CA');
    signCert(dir, 'ca', 'server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    conf.push(
      `cafile ${join(dir, 'ca.crt')}`,
      `certfile ${join(dir, 'server.crt')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      'allow_anonymous false',
    );
  } else {
    conf.push('allow_anonymous true');
  }
  conf.push(...(opts.extraConfig ?? []));
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, conf.join('\n') + '\n');

  let logText = '';
  let proc: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const p = spawn(MOSQUITTO_BIN, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => (logText += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (logText += d.toString()));
    await waitForPort(port, p, 5000, () => logText);
  };
  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGCONT'); // a paused broker cannot act on SIGTERM
    await new Promise<void>((res) => {
      p.once('exit', () => res());
      p.kill(signal);
    });
  };
  await launch();

  const broker: TestBroker = {
    url: tls ? `mqtts://localhost:${port}` : `mqtt://127.0.0.1:${port}`,
    port,
    caFile: tls ? join(dir, 'ca.crt') : undefined,
    dir,
    clientCert(cn) {
      if (!tls) throw new EarshotError('BAD_ARGUMENT', 'client certificates need a TLS broker');
      let c = certs.get(cn);
      if (!c) {
        c = signCert(dir, 'ca', `client-${safeName(cn)}`, cn, 'extendedKeyUsage=clientAuth\n');
        certs.set(cn, c);
      }
      return c;
    },
    foreignClientCert(cn) {
      let c = foreign.get(cn);
      if (!c) {
        if (!existsSync(join(dir, 'foreign-ca.crt'))) makeCa(dir, 'foreign-ca', 'Foreign CA');
        c = signCert(dir, 'foreign-ca', `foreign-${safeName(cn)}`, cn, 'extendedKeyUsage=clientAuth\n');
        foreign.set(cn, c);
      }
      return c;
    },
    stop: () => terminate('SIGTERM'),
    pause: () => void proc?.kill('SIGSTOP'),
    resume: () => void proc?.kill('SIGCONT'),
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGTERM');
      await launch();
    },
    async dispose() {
      await terminate('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => logText,
  };
  return broker;
}

/** Resolve a path relative to the repository root (for callers outside the repo's cwd). */
export function fromRepoRoot(...parts: string[]): string {
  return resolve(repoRoot(), ...parts);
}
