import { describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/errors.js';
import { LocalOnlyPolicy } from '../../src/privacy/local-only/index.js';
import { MemoryAuditSink, MemoryOwnerPrivacyRepo } from './fakes.js';

function setup() {
  const owners = new MemoryOwnerPrivacyRepo();
  owners.addOwner('o-alice');
  const audit = new MemoryAuditSink();
  let forced = false;
  const policy = new LocalOnlyPolicy({ owners, audit, fleetForcesLocalOnly: () => forced });
  return { owners, audit, policy, force: (on: boolean) => (forced = on) };
}

describe('LocalOnlyPolicy', () => {
  it('the owner turns it on and off; each change is persisted and audited once', async () => {
    const { owners, audit, policy } = setup();
    expect(await policy.set('o-alice', true)).toEqual({ ownerId: 'o-alice', ownerChoice: true, forcedByFleet: false, effective: true });
    expect((await owners.getPrivacy('o-alice')).localOnly).toBe(true);
    await policy.set('o-alice', true);
    expect(await policy.set('o-alice', false)).toMatchObject({ effective: false });
    expect(audit.ofType('local-only.changed').map((e) => e.detail?.['on'])).toEqual([true, false]);
  });

  it('while the fleet forces it, the owner cannot turn it off (LOCAL_ONLY) and nothing changes', async () => {
    const { owners, audit, policy, force } = setup();
    force(true);
    expect(await policy.status('o-alice')).toEqual({ ownerId: 'o-alice', ownerChoice: false, forcedByFleet: true, effective: true });
    let err: unknown;
    try {
      await policy.set('o-alice', false);
    } catch (e) {
      err = e;
    }
    expect(isEarshotError(err, 'LOCAL_ONLY')).toBe(true);
    expect((err as Error).message).toContain('forced on by fleet configuration');
    // The owner may still record their own choice to be local-only.
    await policy.set('o-alice', true);
    force(false);
    expect(await policy.status('o-alice')).toMatchObject({ ownerChoice: true, effective: true });
    await policy.set('o-alice', false);
    expect((await owners.getPrivacy('o-alice')).localOnly).toBe(false);
    expect(audit.ofType('local-only.changed')).toHaveLength(2);
  });

  it('unknown owners are refused', async () => {
    const { policy } = setup();
    await expect(policy.set('o-nobody', true)).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'UNKNOWN_OWNER'));
  });
});
