/**
 * A fake "microphone" for the real `arecord` binary on a machine without a sound card.
 *
 * ALSA's `file` PCM plugin with `infile` replaces what its slave captured with bytes read from a file; its slave
 * is the `null` PCM, which needs no hardware:
 *
 *   pcm.earshot_fixture {
 *     type file
 *     slave.pcm { type null }
 *     file "<dir>/pace.fifo"      # copy of everything captured, written to a FIFO
 *     infile "<dir>/fixture.raw"  # what arecord "hears": raw s16le 16 kHz mono
 *     format "raw"
 *   }
 *
 * The null PCM has no clock: alone, arecord would read the whole file in a few ms. The plugin's copy output goes
 * to a FIFO whose only reader (a perl one-liner started first) shrinks the pipe to one page and consumes 32 000
 * bytes per second, so arecord blocks writing the copy and is paced at real time. The reader opens the FIFO
 * read-write and resizes it *before* arecord starts (resizing after arecord filled the default 64 KiB pipe
 * fails, which would give a 2 s burst). What remains is a fixed lead of one ALSA buffer (~0.5–0.6 s) delivered
 * at once at start, then real-time flow. perl-base is part of every Debian/Ubuntu system; F_SETPIPE_SZ (1031) is
 * Linux-only, like ALSA.
 *
 * ALSA_CONFIG_PATH replaces the global configuration (alsa.conf is not loaded), so the file defines everything
 * the PCM needs inline. It is set in this test process's environment, which the recorder inherits
 * (node-record-lpcm16 passes no environment of its own for arecord).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURE_PCM = 'earshot_fixture';

const PACER = `
open(my $f, '+<', $ARGV[0]) or die "open $ARGV[0]: $!\\n";
fcntl($f, 1031, 4096) or die "F_SETPIPE_SZ: $!\\n";
$| = 1;
print "ready\\n";
while (1) {
  my $n = sysread($f, my $b, 2560);
  last unless defined $n;
  select(undef, undef, undef, $n / 32000) if $n > 0;
}
`;

export interface AlsaFixture {
  readonly dir: string;
  readonly confPath: string;
  /** Raw s16le file the PCM plays; it need not exist yet (arecord then fails to open the device). */
  readonly rawPath: string;
  writeRaw(pcm: Int16Array): void;
  /** Points ALSA_CONFIG_PATH at this configuration; returns a function restoring the previous value. */
  activate(): () => void;
  /** Stops the pacer and deletes the directory. */
  remove(): void;
}

/** Creates the configuration, the FIFO and the pacer (waits until the pacer is ready). */
export async function createAlsaFixture(): Promise<AlsaFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-alsa-'));
  const confPath = join(dir, 'asound.conf');
  const rawPath = join(dir, 'fixture.raw');
  const fifoPath = join(dir, 'pace.fifo');
  const mk = spawnSync('mkfifo', [fifoPath], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`mkfifo failed: ${mk.stderr || mk.error?.message}`);
  writeFileSync(
    confPath,
    [`pcm.${FIXTURE_PCM} {`, '  type file', '  slave.pcm { type null }', `  file "${fifoPath}"`, `  infile "${rawPath}"`, '  format "raw"', '}', ''].join('\n'),
  );
  const pacer: ChildProcess = spawn('perl', ['-e', PACER, fifoPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    pacer.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    pacer.once('error', reject);
    pacer.once('exit', (code) => reject(new Error(`the ALSA fixture pacer exited (${code}): ${err}`)));
    pacer.stdout!.once('data', () => resolve());
  });
  return {
    dir,
    confPath,
    rawPath,
    writeRaw(pcm) {
      writeFileSync(rawPath, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    },
    activate() {
      const previous = process.env.ALSA_CONFIG_PATH;
      process.env.ALSA_CONFIG_PATH = confPath;
      return () => {
        if (previous === undefined) delete process.env.ALSA_CONFIG_PATH;
        else process.env.ALSA_CONFIG_PATH = previous;
      };
    },
    remove() {
      pacer.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
