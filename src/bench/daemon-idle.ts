/**
 * Idle cost of the daemon (issue 10 §2): a real `earshot run` child process, its CPU time read from
 * /proc/PID/stat (utime + stime, in clock ticks) over a quiet interval, with the uplink connected to a broker
 * with an empty outbox, and with the uplink off.
 *
 * "Idle" here is the daemon with no audio to process: `--input -` with a standard input that is kept open and
 * never written to (no microphone on a bench machine). The wake loop then waits for audio, so what is measured
 * is everything else the daemon runs — timers, watchers, the MQTT connection, the outbox — which is the part
 * the uplink can make expensive. A device listening to a microphone adds the wake loop's own cost on top
 * (see wake.realtimeFactor).
 *
 * daemon.idleCpuPct           % of one core, uplink connected, empty outbox
 * daemon.idleCpuPctNoUplink   % of one core, uplink off
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EarshotError } from '../core/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

export interface IdleUplinkTarget {
  brokerUrl: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100; // Linux's USER_HZ on every common architecture
  }
}

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat, after the "(comm)"). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Runs an idle daemon for `settleS` + `seconds` and returns its CPU use over the last `seconds`, in % of one core.
 * `uplink` undefined = uplink off. The data dir has an owner with cloud-processing consent, so the uplink is
 * fully active (connected, subscribed, draining an empty outbox).
 */
export async function idleDaemonCpuPct(deviceId: string, uplink: IdleUplinkTarget | undefined, seconds = 10, settleS = 3): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-idle-'));
  try {
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        configVersion: 1,
        device: { id: deviceId, groups: [] },
        dataDir: join(dir, 'data'),
        uplink: uplink ? { ...uplink, reconnectMinMs: 200, reconnectMaxMs: 2000 } : { brokerUrl: '' },
        log: { level: 'warn' },
      }),
    );
    const env = { ...process.env, HOME: dir };
    const cli = (args: string[]) => execFileSync(process.execPath, [CLI, ...args, '--config', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    cli(['init']);
    cli(['owners', 'add', '--name', 'Bench Owner']);
    cli(['consent', 'grant', '--purpose', 'cloud-processing']);

    const child = spawn(process.execPath, [CLI, 'run', '--input', '-', '--json', '--config', config], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const until = Date.now() + 30_000;
      while (!out.includes('"type":"listening"')) {
        if (child.exitCode !== null || Date.now() > until) throw new EarshotError('INTERNAL', `bench: idle daemon did not start: ${err.slice(-300)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, settleS * 1000)); // connect, subscribe, first status, snapshot writes
      const hz = clockTicksPerSecond();
      const t0 = process.hrtime.bigint();
      const c0 = cpuTicks(child.pid!);
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const c1 = cpuTicks(child.pid!);
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      return ((c1 - c0) / hz / wallS) * 100;
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
