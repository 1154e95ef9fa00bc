/** Owners: add, list, switch the active owner, and resolve which owner a request acts for. */
import { EarshotError } from '../core/index.js';
import type { OwnerRecord, Tx } from '../core/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { checkRetentionDays } from './retention.js';

/** What `earshot owners add` creates: `own-` and 16 hex digits (the store's newOwnerId). */
export const OWNER_ID_PATTERN = /^own-[0-9a-f]{16}$/;

export function unknownOwner(ownerId: string): EarshotError {
  return new EarshotError('UNKNOWN_OWNER', `no owner with id ${ownerId} (earshot owners list shows them)`, { details: { ownerId } });
}

/** The owner row inside a unit of work, or UNKNOWN_OWNER. */
export async function requireOwner(tx: Tx, ownerId: string): Promise<OwnerRecord> {
  const o = await tx.owners.get(ownerId);
  if (!o) throw unknownOwner(ownerId);
  return o;
}

export async function addOwner(
  deps: AppDeps,
  req: { name: string; retentionDays?: number; localOnly?: boolean } & Origin,
): Promise<string> {
  const name = req.name.trim();
  if (name === '' || name.length > 200) throw new EarshotError('BAD_ARGUMENT', 'owner name must be 1–200 characters');
  const retentionDays = req.retentionDays ?? deps.defaults.retentionDays;
  checkRetentionDays(retentionDays);
  const localOnly = req.localOnly ?? deps.defaults.localOnly;
  return deps.uow.run(async (tx) => {
    const id = await tx.owners.create({ name, createdAt: deps.clock.now(), retentionDays, localOnly });
    await tx.audit.append({ type: 'owner.added', ownerId: id, personal: { name }, detail: { retentionDays, localOnly, source: req.source } });
    // The first owner becomes active.
    if ((await tx.owners.activeOwnerId()) === undefined) {
      await tx.owners.setActive(id);
      await tx.audit.append({ type: 'owner.activated', ownerId: id, detail: { source: req.source } });
    }
    return id;
  });
}

/** Makes `ownerId` the owner new recordings belong to. Gives no access to anyone's recordings. */
export function useOwner(deps: AppDeps, ownerId: string, origin: Origin): Promise<void> {
  return deps.uow.run(async (tx) => {
    await requireOwner(tx, ownerId);
    await tx.owners.setActive(ownerId);
    await tx.audit.append({ type: 'owner.activated', ownerId, detail: { source: origin.source } });
  });
}

export function listOwners(deps: AppDeps): Promise<OwnerRecord[]> {
  return deps.uow.read((tx) => tx.owners.list());
}

export function getOwner(deps: AppDeps, ownerId: string): Promise<OwnerRecord> {
  return deps.uow.read((tx) => requireOwner(tx, ownerId));
}

export function activeOwnerId(deps: AppDeps): Promise<string | undefined> {
  return deps.uow.read((tx) => tx.owners.activeOwnerId());
}

/**
 * The owner a request acts for: an explicit id (well-formed and existing), else the active owner. An empty or
 * malformed id is refused rather than read as "no id given" (an unset shell variable must not act on the
 * active owner).
 */
export function resolveOwner(deps: AppDeps, explicit: string | undefined): Promise<string> {
  if (explicit !== undefined && !OWNER_ID_PATTERN.test(explicit)) {
    return Promise.reject(new EarshotError('BAD_ARGUMENT', `owner id ${JSON.stringify(explicit)} is not valid (own- and 16 hex digits; earshot owners list shows them)`));
  }
  return deps.uow.read(async (tx) => {
    if (explicit !== undefined) return (await requireOwner(tx, explicit)).id;
    const active = await tx.owners.activeOwnerId();
    if (active === undefined) throw new EarshotError('NO_ACTIVE_OWNER', 'no active owner; pass --owner ID or run `earshot owners add --name NAME`');
    return active;
  });
}
