/** Every command, gathered from the area modules. */
import type { Command } from './command.js';
import { commands as wakeCommands } from './commands/wake.js';
import { commands as storeCommands } from './commands/store.js';
import { commands as privacyCommands } from './commands/privacy.js';
import { commands as fleetCommands } from './commands/fleet.js';
import { commands as daemonCommands } from './commands/daemon.js';
import { commands as webCommands } from './commands/web.js';
import { commands as backupCommands } from './commands/backup.js';
import { commands as ownerWakeCommands } from './commands/owner-wake.js';
import { commands as evalCommands } from './commands/eval.js';
import { commands as tuneCommands } from './commands/tune.js';
import { commands as enrolCommands } from './commands/enrol.js';

export function allCommands(): Command[] {
  return [...wakeCommands, ...evalCommands, ...tuneCommands, ...storeCommands, ...ownerWakeCommands, ...privacyCommands, ...fleetCommands, ...daemonCommands, ...backupCommands, ...webCommands, ...enrolCommands];
}
