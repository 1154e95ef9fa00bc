/** Runs an `earshot` command in-process (no child process) and collects what it printed. */
import { PassThrough } from 'node:stream';
import type { Command } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/main.js';

export async function runEarshot(argv: string[], env: NodeJS.ProcessEnv = {}, commands?: Command[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const io = { stdout, stderr, stdin: new PassThrough(), env, signal: new AbortController().signal };
  const code = commands ? await runCli(argv, io, commands) : await runCli(argv, io);
  return { code, out, err };
}
