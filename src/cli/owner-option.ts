/**
 * Reading `--owner` (and an owner id positional) on the command line.
 *
 * `--owner ""` is what an unset shell variable gives (`--owner "$OWNER"`): it must never read as "no owner
 * given" and fall back to the active owner, or a script meant for one person would change another person's
 * consent or delete their recordings. So: absent → undefined (the app uses the active owner); present → must
 * be a well-formed owner id, else BAD_ARGUMENT (exit 2). The app's resolveOwner checks the same shape again.
 */
import { OWNER_ID_PATTERN } from '../app/index.js';
import { EarshotError } from '../core/index.js';
import type { ParsedArgs } from './command.js';

export function isWellFormedOwnerId(id: string): boolean {
  return OWNER_ID_PATTERN.test(id);
}

/** BAD_ARGUMENT for an empty or malformed id; a long value is shown by its length only. */
export function checkOwnerId(id: unknown, what = '--owner'): string {
  if (typeof id !== 'string' || id === '') {
    throw new EarshotError('BAD_ARGUMENT', `${what} is empty (an unset shell variable?); pass an owner id from \`earshot owners list\``, {
      details: { field: what },
    });
  }
  if (!isWellFormedOwnerId(id)) {
    const shown = id.length <= 64 ? JSON.stringify(id) : `(${id.length} characters)`;
    throw new EarshotError('BAD_ARGUMENT', `${what} ${shown} is not an owner id (own- and 16 hex digits; earshot owners list shows them)`, {
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
