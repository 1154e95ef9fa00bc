/** `earshot keys rotate`: every owner key re-wrapped under a new device key; recordings are untouched. */
import type { AppDeps, Origin } from './app-deps.js';
import { auditRotation } from './erase.js';

export function rotateKeys(deps: AppDeps, origin: Origin): Promise<{ from: string; to: string; owners: number }> {
  return deps.uow.runRekeyed(async (tx, rotation) => {
    const owners = await auditRotation(tx, rotation, 'rotation', origin);
    return { from: rotation.from, to: rotation.to, owners };
  });
}
