/**
 * The owner a command acts for: `--owner ID` (checked to be well formed and to exist), else the active owner.
 *
 * `--owner ""` is what an unset shell variable gives (`--owner "$OWNER"`): it must never fall back to the active
 * owner, or a script meant for one person would change another person's consent or delete their recordings.
 */
import { EarshotError } from '../core/errors.js';
import type { OwnerPrivacyRepo } from '../core/ports.js';
import type { ParsedArgs } from './command.js';

/** Owner ids are opaque tokens (`own-` + 16 hex digits from `owners add`); this shape also admits test ids. */
const OWNER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isWellFormedOwnerId(id: string): boolean {
  return OWNER_ID.test(id);
}

/** BAD_ARGUMENT (exit 2) for an empty or malformed id; the message shows its length, not the value, if it is long. */
export function checkOwnerId(id: unknown, what = '--owner'): string {
  if (typeof id !== 'string' || id === '') {
    throw new EarshotError('BAD_ARGUMENT', `${what} is empty (an unset shell variable?); pass an owner id from \`earshot owners list\``, {
      details: { field: what },
    });
  }
  if (!isWellFormedOwnerId(id)) {
    const shown = id.length <= 64 ? JSON.stringify(id) : `(${id.length} characters)`;
    throw new EarshotError('BAD_ARGUMENT', `${what} ${shown} is not an owner id (letters, digits, '.', '_', '-'; e.g. own-0123456789abcdef)`, {
      details: { field: what },
    });
  }
  return id;
}

/** `--owner` as given: undefined only when the option is absent; present but empty or malformed is refused. */
export function ownerOption(args: ParsedArgs): string | undefined {
  const v = args.values['owner'];
  if (v === undefined) return undefined;
  return checkOwnerId(v);
}

/** `--owner` required (export, erase, retention set). */
export function requiredOwnerOption(args: ParsedArgs): string {
  const v = args.values['owner'];
  if (v === undefined) throw new EarshotError('BAD_ARGUMENT', '--owner is required', { details: { field: '--owner' } });
  return checkOwnerId(v);
}

export async function resolveOwner(owners: OwnerPrivacyRepo, explicit: string | undefined): Promise<string> {
  if (explicit !== undefined) {
    checkOwnerId(explicit);
    await owners.getPrivacy(explicit); // UNKNOWN_OWNER for a typo
    return explicit;
  }
  const active = await owners.activeOwnerId();
  if (active === undefined) throw new EarshotError('NO_ACTIVE_OWNER', 'no active owner; pass --owner ID or run `earshot owners add --name NAME`');
  return active;
}
