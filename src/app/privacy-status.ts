/** What privacy is in effect for an owner (or the active one), for `earshot status` and the retained status topic. */
import type { EffectivePrivacy } from '../privacy/index.js';
import type { AppDeps } from './app-deps.js';

export async function privacyInEffect(deps: AppDeps, ownerId?: string): Promise<{ ownerId: string | null; privacy: EffectivePrivacy }> {
  const owner = await deps.uow.read(async (tx) => {
    const id = ownerId ?? (await tx.owners.activeOwnerId());
    return id === undefined ? undefined : tx.owners.privacy(id);
  });
  return { ownerId: owner?.ownerId ?? null, privacy: await deps.policy.inEffect(owner) };
}
