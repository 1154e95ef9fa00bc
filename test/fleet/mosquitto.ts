/** A throw-away Mosquitto on a free port for tests (plain TCP, anonymous, optional ACL). */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function startMosquitto(dir: string, acl?: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false'];
  if (acl !== undefined) {
    // Mosquitto started as root drops to its own user before reading the ACL: make it readable.
    await chmod(dir, 0o755);
    await writeFile(join(dir, `acl-${port}`), acl, { mode: 0o644 });
    lines.push(`acl_file ${join(dir, `acl-${port}`)}`);
  }
  await writeFile(join(dir, `mosquitto-${port}.conf`), lines.join('\n') + '\n');
  const proc = spawn('mosquitto', ['-c', join(dir, `mosquitto-${port}.conf`)], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      const c = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 500 });
      await c.endAsync();
      return { url, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  proc.kill();
  throw new Error('mosquitto did not start');
}

