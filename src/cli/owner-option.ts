/** The owner a command acts for: `--owner ID` (checked to exist), else the active owner. */
import { EarshotError } from '../core/errors.js';
import type { OwnerPrivacyRepo } from '../core/ports.js';

export async function resolveOwner(owners: OwnerPrivacyRepo, explicit: string | undefined): Promise<string> {
  if (explicit !== undefined) {
    await owners.getPrivacy(explicit); // UNKNOWN_OWNER for a typo
    return explicit;
  }
  const active = await owners.activeOwnerId();
  if (active === undefined) throw new EarshotError('NO_ACTIVE_OWNER', 'no active owner; pass --owner ID or run `earshot owners add --name NAME`');
  return active;
}
