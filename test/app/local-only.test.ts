/** Local-only mode through the application layer, on both stores. */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/errors.js';
import { appHarness, onEveryStore, type AppHarness } from './harness.js';

onEveryStore('local-only', (kind) => {
  let h: AppHarness;
  let alice: string;
  const cli = { source: 'owner-cli' };
  beforeEach(async () => {
    h = await appHarness(kind);
    alice = await h.app.addOwner({ name: 'Alice', ...cli });
  });
  afterEach(() => h.close());
  const changes = async () => (await h.app.auditLog()).filter((e) => e.type === 'local-only.changed');
  const ownerChoice = async () => (await h.read((tx) => tx.owners.privacy(alice)))!.localOnly;

  it('the owner turns it on and off; each change is persisted and audited once, in one shape', async () => {
    expect(await h.app.setLocalOnly(alice, true, cli)).toEqual({ ownerId: alice, ownerChoice: true, forcedByFleet: false, effective: true });
    expect(await ownerChoice()).toBe(true);
    await h.app.setLocalOnly(alice, true, cli);
    expect(await h.app.setLocalOnly(alice, false, { source: 'owner-page' })).toMatchObject({ effective: false });
    expect((await changes()).map((e) => e.detail)).toEqual([
      { on: true, source: 'owner-cli', forcedByFleet: false },
      { on: false, source: 'owner-page', forcedByFleet: false },
    ]);
  });

  it('while the fleet forces it, the owner cannot turn it off (LOCAL_ONLY) and nothing changes', async () => {
    h.fleet.privacy = { forceLocalOnly: true };
    expect(await h.app.localOnlyStatus(alice)).toEqual({ ownerId: alice, ownerChoice: false, forcedByFleet: true, effective: true });
    let err: unknown;
    try {
      await h.app.setLocalOnly(alice, false, cli);
    } catch (e) {
      err = e;
    }
    expect(isEarshotError(err, 'LOCAL_ONLY')).toBe(true);
    expect((err as Error).message).toContain('forced on by fleet configuration');
    // The owner may still record their own choice to be local-only.
    await h.app.setLocalOnly(alice, true, cli);
    h.fleet.privacy = {};
    expect(await h.app.localOnlyStatus(alice)).toMatchObject({ ownerChoice: true, effective: true });
    await h.app.setLocalOnly(alice, false, cli);
    expect(await ownerChoice()).toBe(false);
    expect(await changes()).toHaveLength(2);
  });

  it('unknown and malformed owners are refused', async () => {
    await expect(h.app.setLocalOnly('own-0000000000000000', true, cli)).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'UNKNOWN_OWNER'));
    await expect(h.app.resolveOwner('')).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'BAD_ARGUMENT'));
    await expect(h.app.resolveOwner('o-typo')).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'BAD_ARGUMENT'));
    await expect(h.app.resolveOwner('own-0000000000000000')).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'UNKNOWN_OWNER'));
    expect(await h.app.resolveOwner(undefined)).toBe(alice);
    const bob = await h.app.addOwner({ name: 'Bob', ...cli });
    expect(await h.app.resolveOwner(bob)).toBe(bob);
  });
});
