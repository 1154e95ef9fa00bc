#!/usr/bin/env node
/**
 * `earshot` entry point: finds the command by its words, parses options strictly (unknown options are
 * errors), prints --help, and maps errors to one stderr line and a non-zero exit code.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EarshotError, errorMessage, isEarshotError } from '../core/index.js';
import { GLOBAL_OPTIONS, type Command, type CommandIO } from './command.js';
import { allCommands } from './registry.js';

function findCommand(commands: Command[], argv: string[]): { cmd: Command; rest: string[] } | undefined {
  let best: { cmd: Command; rest: string[] } | undefined;
  for (const cmd of commands) {
    if (cmd.path.length <= argv.length && cmd.path.every((w, i) => argv[i] === w)) {
      if (!best || cmd.path.length > best.cmd.path.length) best = { cmd, rest: argv.slice(cmd.path.length) };
    }
  }
  return best;
}

/** Options naming a file, resolved against the working directory before a command sees them. */
const CWD_PATH_OPTIONS = ['manifest'];

export function commandHelp(cmd: Command): string {
  const lines = [`Usage: ${cmd.usage}`, '', cmd.summary];
  if (cmd.help) lines.push('', cmd.help.trimEnd());
  lines.push(
    '',
    'Global options:',
    '  --config FILE     device config (or EARSHOT_CONFIG); defaults are built in',
    '  --data-dir DIR    database and key file (or EARSHOT_DATA_DIR)',
    '  --json            machine-readable output where the output is data',
    '  -h, --help        this help',
  );
  return lines.join('\n') + '\n';
}

export function overviewHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const rows = [...commands]
    .sort((a, b) => a.path.join(' ').localeCompare(b.path.join(' ')))
    .map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return [
    'earshot: privacy-first wake-word companion for smart speakers',
    '',
    'Usage: earshot COMMAND [options]   (earshot COMMAND --help for details)',
    '',
    'Commands:',
    ...rows,
    '',
  ].join('\n');
}

export async function runCli(argv: string[], io: CommandIO, commands: Command[] = allCommands()): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout.write(overviewHelp(commands));
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(commands, argv);
  if (!found) {
    // A group word alone (e.g. `earshot owners`) lists its sub-commands.
    const group = commands.filter((c) => c.path[0] === argv[0]);
    if (group.length > 0) {
      io.stderr.write(overviewHelp(group));
      return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
    }
    io.stderr.write(`earshot: unknown command '${argv.join(' ')}' (earshot --help lists them)\n`);
    return 2;
  }
  const { cmd, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(commandHelp(cmd));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...cmd.options },
      allowPositionals: cmd.allowPositionals ?? false,
      strict: true,
    });
  } catch (e) {
    io.stderr.write(`earshot ${cmd.path.join(' ')}: ${errorMessage(e)}\n${commandHelp(cmd)}`);
    return 2;
  }
  // Paths given on the command line are relative to where the command runs, whatever module reads them later
  // (model code resolves paths against the manifest and needs an absolute one).
  for (const name of CWD_PATH_OPTIONS) {
    const v = parsed.values[name];
    if (typeof v === 'string' && v !== '') parsed.values[name] = resolve(v);
  }
  try {
    return await cmd.run({ values: parsed.values, positionals: parsed.positionals }, io);
  } catch (e) {
    if (isEarshotError(e)) {
      io.stderr.write(`earshot ${cmd.path.join(' ')}: ${e.code}: ${e.message}\n`);
      return e.code === 'BAD_ARGUMENT' ? 2 : 1;
    }
    io.stderr.write(`earshot ${cmd.path.join(' ')}: INTERNAL: ${errorMessage(e)}\n`);
    if (io.env['EARSHOT_DEBUG'] && e instanceof Error && e.stack) io.stderr.write(e.stack + '\n');
    return 1;
  }
}


/**
 * A reader that closed our stdout (`earshot audit log | head`): further output is dropped and the command
 * finishes normally (stores close cleanly) instead of crashing on an unhandled EPIPE.
 */
export function quietOnClosedPipe(stream: NodeJS.WritableStream & { destroy?: () => void }): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
      stream.destroy?.();
      return;
    }
    throw e;
  });
}

/**
 * Once a command has returned, nothing may keep the process alive (a socket to a broker that never answers, a
 * stray timer): after a grace period the process exits — but never before its output has been flushed (a slow
 * reader such as `| less` keeps it alive as long as it needs).
 */
const EXIT_GRACE_MS = 1_000;
function exitOnceFlushed(code: number): void {
  const check = () => {
    if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) setTimeout(check, 200).unref();
    else process.exit(code);
  };
  setTimeout(check, EXIT_GRACE_MS).unref();
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain || process.argv[1]?.endsWith('/earshot')) {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      controller.abort();
      return;
    }
    // A second signal: the operator does not want to wait for the clean stop.
    process.stderr.write(`earshot: second ${name}: exiting without waiting for the clean stop\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  quietOnClosedPipe(process.stdout);
  runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    signal: controller.signal,
  }).then(
    (code) => {
      process.exitCode = code;
      exitOnceFlushed(code);
    },
    (e: unknown) => {
      process.stderr.write(`earshot: INTERNAL: ${errorMessage(e)}\n`);
      process.exitCode = 1;
      exitOnceFlushed(1);
    },
  );
}
