/** Public API of cli/. */
export { runCli } from './main.js';
export type { CommandIO } from './command.js';
export { describeEvent } from './commands/daemon.js';
