import { describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/errors.js';
import { changeConsent, consentStatus, localOnlyStatus, setLocalOnly, type PrivacyPorts } from '../../src/cli/commands/privacy.js';
import { FleetConfigReceiver } from '../../src/fleet/index.js';
import { DEVICE_ID, deviceConfigPinning, makeKeys, signed } from '../fleet/helpers.js';
import { FakeClock, MemoryAuditSink, MemoryConsentLedgerRepo, MemoryOutboxRepo, MemoryOwnerPrivacyRepo, MemorySettingsRepo } from './fakes.js';

const keys = makeKeys();

function setup() {
  const owners = new MemoryOwnerPrivacyRepo();
  owners.addOwner('o-alice');
  owners.addOwner('o-bob', {}, { activate: false });
  const ports: PrivacyPorts & { outbox: MemoryOutboxRepo; audit: MemoryAuditSink; settings: MemorySettingsRepo } = {
    consent: new MemoryConsentLedgerRepo(),
    owners,
    settings: new MemorySettingsRepo(),
    audit: new MemoryAuditSink(),
    outbox: new MemoryOutboxRepo(),
  };
  const clock = new FakeClock();
  const ctx = { config: deviceConfigPinning(keys.publicKeyPem), deviceId: DEVICE_ID, clock };
  return { ports, ctx, clock };
}

describe('privacy command logic', () => {
  it('consent commands default to the active owner; --owner picks another; unknown owners are refused', async () => {
    const { ports, ctx } = setup();
    const r = await changeConsent(ports, ctx, { action: 'grant', purpose: 'cloud-processing' });
    expect(r.event).toMatchObject({ ownerId: 'o-alice', action: 'grant', source: 'owner-cli', textVersion: '1' });
    await changeConsent(ports, ctx, { action: 'grant', purpose: 'quality-improvement', ownerId: 'o-bob', source: 'local-page', textVersion: '3' });
    expect((await consentStatus(ports, ctx)).purposes.map((p) => p.active)).toEqual([true, false]);
    expect((await consentStatus(ports, ctx, 'o-bob')).purposes.map((p) => p.active)).toEqual([false, true]);
    await expect(consentStatus(ports, ctx, 'o-typo')).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'UNKNOWN_OWNER'));
  });

  it('withdrawing cloud-processing empties that owner\'s queue at once, not other owners\'', async () => {
    const { ports, ctx, clock } = setup();
    for (let i = 0; i < 100; i++) await ports.outbox.enqueue({ recordingId: `a${i}`, ownerId: 'o-alice', capturedAt: clock.now(), enqueuedAt: clock.now() });
    await ports.outbox.enqueue({ recordingId: 'b0', ownerId: 'o-bob', capturedAt: clock.now(), enqueuedAt: clock.now() });
    const r = await changeConsent(ports, ctx, { action: 'revoke', purpose: 'cloud-processing' });
    expect(r.removedFromOutbox).toBe(100);
    expect(await ports.outbox.count()).toBe(1);
    // Withdrawing quality-improvement does not touch uploads.
    await ports.outbox.enqueue({ recordingId: 'a-new', ownerId: 'o-alice', capturedAt: clock.now(), enqueuedAt: clock.now() });
    expect((await changeConsent(ports, ctx, { action: 'revoke', purpose: 'quality-improvement' })).removedFromOutbox).toBe(0);
    expect(await ports.outbox.count()).toBe(2);
  });

  it('local-only cannot be turned off while an applied fleet document forces it (read from the persisted fleet state)', async () => {
    const { ports, ctx } = setup();
    expect(await setLocalOnly(ports, ctx, true)).toMatchObject({ ownerId: 'o-alice', effective: true, forcedByFleet: false });
    expect(await setLocalOnly(ports, ctx, false)).toMatchObject({ effective: false });
    // The daemon's receiver applied (and persisted) a document forcing local-only.
    const receiver = new FleetConfigReceiver({ deviceId: DEVICE_ID, deviceConfig: ctx.config, settings: ports.settings, audit: new MemoryAuditSink() });
    expect((await receiver.receive('earshot/v1/fleet/eu/config', signed(keys.privateKey, { privacy: { forceLocalOnly: true } }, { version: 1, target: 'group:eu' }))).status).toBe('applied');
    expect(await localOnlyStatus(ports, ctx)).toMatchObject({ ownerChoice: false, forcedByFleet: true, effective: true });
    await expect(setLocalOnly(ports, ctx, false)).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'LOCAL_ONLY'));
    expect(ports.audit.ofType('local-only.changed').map((e) => e.detail?.['on'])).toEqual([true, false]);
  });
});
