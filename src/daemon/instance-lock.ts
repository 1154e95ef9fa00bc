/**
 * One daemon per data directory. The lock is a Linux abstract-namespace Unix socket: the kernel removes it the
 * moment the holder dies, however it dies (SIGKILL included), so it can never be left stuck; nothing is written
 * to disk to hold it. The holder answers every connection with one JSON line — its pid and live, non-personal
 * status — which is how a second daemon names the holder and how `earshot status` reads the live daemon.
 *
 * The socket name is derived from the data directory's real path and a random id kept in the data directory
 * (mode 0600): abstract sockets have no file permissions, so without the id another local user could take the
 * name first and keep the daemon from starting.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, realpathSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { EarshotError, errorMessage } from '../core/index.js';

export const LOCK_ID_FILE = 'daemon.lock-id';
/** Longest wait for a holder's answer. */
const ANSWER_TIMEOUT_MS = 2_000;
/** The answer is small; anything longer is not a daemon. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface DaemonAnswer {
  pid: number;
  startedAt: number;
  [key: string]: unknown;
}

async function lockId(dataDir: string, create: boolean): Promise<string | undefined> {
  const file = path.join(dataDir, LOCK_ID_FILE);
  try {
    const id = (await fs.readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id;
    if (!create) return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (!create) return undefined;
      throw new EarshotError('STORE_IO', `cannot read ${file}: ${errorMessage(e)}`, { cause: e });
    }
    if (!create) return undefined;
  }
  const id = randomBytes(16).toString('hex');
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fs.writeFile(tmp, id + '\n', { mode: 0o600 });
    await fs.rename(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EarshotError('NOT_INITIALISED', `${dataDir} is not an Earshot data directory (run earshot init)`, { cause: e });
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
      throw new EarshotError('STORE_IO', `the data directory ${dataDir} is read-only: the daemon writes there; make it writable for this user (e.g. remount it read-write, or chmod u+w ${dataDir})`, { cause: e });
    }
    throw new EarshotError('STORE_IO', `cannot write ${file}: ${errorMessage(e)}`, { cause: e });
  }
  return id;
}

function socketName(dataDir: string, id: string): string {
  let real: string;
  try {
    real = realpathSync(dataDir);
  } catch {
    real = path.resolve(dataDir);
  }
  const digest = createHash('sha256').update(real).update('\0').update(id).digest('hex').slice(0, 40);
  return `\0earshot-daemon-${digest}`;
}

/** Reads the holder's one-line answer; undefined when nobody answers. */
function ask(name: string): Promise<DaemonAnswer | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect(name);
    let buf = '';
    const done = (v: DaemonAnswer | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), ANSWER_TIMEOUT_MS);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_ANSWER_BYTES) done(undefined);
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        const v = JSON.parse(buf.slice(0, nl)) as DaemonAnswer;
        done(typeof v.pid === 'number' ? v : undefined);
      } catch {
        done(undefined);
      }
    });
    sock.on('error', () => done(undefined));
    sock.on('end', () => done(undefined));
  });
}

/** The live daemon on this data directory, or undefined when none is running. For `earshot status`. */
export async function askDaemon(dataDir: string): Promise<DaemonAnswer | undefined> {
  const id = await lockId(dataDir, false);
  if (id === undefined) return undefined;
  return ask(socketName(dataDir, id));
}

export class InstanceLock {
  private constructor(private readonly server: net.Server) {}

  /**
   * Takes the data directory's lock or throws DAEMON_RUNNING naming the holder's pid. `answer` is called for
   * every connection and must return non-personal data only (any local user can connect).
   */
  static async acquire(dataDir: string, answer: () => Record<string, unknown>): Promise<InstanceLock> {
    const id = (await lockId(dataDir, true))!;
    const name = socketName(dataDir, id);
    for (let attempt = 0; ; attempt++) {
      const server = net.createServer((sock) => {
        sock.on('error', () => sock.destroy());
        let line: string;
        try {
          line = JSON.stringify(answer()) + '\n';
        } catch (e) {
          line = JSON.stringify({ pid: process.pid, error: errorMessage(e) }) + '\n';
        }
        sock.end(line);
      });
      const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
        server.listen(name, () => resolve(undefined));
      });
      if (err === undefined) {
        server.unref(); // the lock must never be what keeps the process alive
        return new InstanceLock(server);
      }
      server.close();
      if (err.code !== 'EADDRINUSE') throw new EarshotError('INTERNAL', `cannot take the daemon lock for ${dataDir}: ${errorMessage(err)}`, { cause: err });
      const holder = await ask(name);
      if (holder) {
        throw new EarshotError('DAEMON_RUNNING', `another earshot daemon (pid ${holder.pid}) is already running on data directory ${dataDir}; stop it first (kill ${holder.pid})`, {
          details: { pid: holder.pid },
        });
      }
      // The holder died between our listen and our question: the kernel has released the name; try again.
      if (attempt >= 2) throw new EarshotError('DAEMON_RUNNING', `the daemon lock for ${dataDir} is held by a process that does not answer`);
    }
  }

  async release(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
