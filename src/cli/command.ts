/**
 * The shape of every `earshot` sub-command. Each area of the code contributes its commands from
 * src/cli/commands/<area>.ts; src/cli/main.ts only dispatches, prints --help and turns errors into exit codes.
 */
import type { ParseArgsConfig } from 'node:util';
import { EarshotError } from '../core/index.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly. */
  signal: AbortSignal;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export interface Command {
  /** Words after `earshot`, e.g. ['owners', 'add']. */
  path: string[];
  summary: string;
  /** Usage lines shown by --help, e.g. 'earshot owners add --name NAME [--json]'. */
  usage: string;
  /** Extra help text (options, examples). */
  help?: string;
  /** Options besides the global ones (--config, --data-dir, --json, --help, which every command gets). */
  options: OptionSpec;
  allowPositionals?: boolean;
  /** Returns the exit code. Throw EarshotError for failures: main prints `earshot: CODE: message` to stderr. */
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: OptionSpec = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** --config / EARSHOT_CONFIG, --data-dir / EARSHOT_DATA_DIR. */
export function globalPaths(args: ParsedArgs, env: NodeJS.ProcessEnv): { configFile: string | undefined; dataDir: string | undefined } {
  const configFile = (args.values['config'] as string | undefined) ?? env['EARSHOT_CONFIG'];
  const dataDir = (args.values['data-dir'] as string | undefined) ?? env['EARSHOT_DATA_DIR'];
  return { configFile: configFile || undefined, dataDir: dataDir || undefined };
}

export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(line + '\n');
}

/** A string option's value; undefined when absent or empty. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A required string option; BAD_ARGUMENT naming it when missing. */
export function requiredOption(args: ParsedArgs, name: string): string {
  const v = stringOption(args, name);
  if (v === undefined) throw new EarshotError('BAD_ARGUMENT', `--${name} is required`);
  return v;
}

/** Exactly one positional argument. */
export function singlePositional(args: ParsedArgs, what: string): string {
  const v = args.positionals[0];
  if (v === undefined || args.positionals.length !== 1) throw new EarshotError('BAD_ARGUMENT', `expected exactly one ${what}`);
  return v;
}
