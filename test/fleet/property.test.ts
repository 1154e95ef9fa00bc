import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLEET_REFUSAL_REASONS, verifyFleetDocument, type FleetPrivacy, type VerifyContext } from '../../src/fleet/index.js';
import { effectivePrivacy, mergeFleetPrivacy } from '../../src/privacy/index.js';
import { defaultConfig } from '../../src/config/index.js';
import { DEVICE_ID, GROUPS, makeKeys, signed } from './helpers.js';

const keys = makeKeys();
const ctx: VerifyContext = {
  publicKeys: [keys.publicKeyPem],
  deviceId: DEVICE_ID,
  groups: GROUPS,
  now: Date.UTC(2026, 0, 2),
  lastAppliedVersion: () => undefined,
  baseline: { localOnly: false, retentionDays: 30, uploadsEnabled: true, humanReview: false },
};

// Fleet privacy as a hostile or buggy sender might write it: any boolean, any retention.
const anyFleetPrivacy = fc.record(
  {
    forceLocalOnly: fc.boolean(),
    maxRetentionDays: fc.integer({ min: 0, max: 5000 }),
    uploadsEnabled: fc.boolean(),
    humanReview: fc.boolean(),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<FleetPrivacy>;
const owner = fc.record({ localOnly: fc.boolean(), retentionDays: fc.integer({ min: 0, max: 3650 }) });
const device = fc.record({
  localOnly: fc.boolean(),
  retentionDays: fc.integer({ min: 0, max: 3650 }),
  uploadsEnabled: fc.boolean(),
  humanReview: fc.boolean(),
});

function isRefusal(v: ReturnType<typeof verifyFleetDocument>): boolean {
  return !v.ok && (FLEET_REFUSAL_REASONS as readonly string[]).includes(v.reason) && typeof v.detail === 'string';
}

describe('merge properties', () => {
  it('the effective privacy is never looser than the owner, the device or the fleet, in any field', () => {
    fc.assert(
      fc.property(fc.option(owner, { nil: undefined }), device, fc.array(anyFleetPrivacy, { maxLength: 4 }), (o, d, fleetDocs) => {
        const fleet = mergeFleetPrivacy(fleetDocs);
        const e = effectivePrivacy(o, d, fleet);
        const ownerLocal = o?.localOnly ?? d.localOnly;
        const ownerRetention = o?.retentionDays ?? d.retentionDays;
        if (ownerLocal) expect(e.localOnly).toBe(true);
        expect(e.retentionDays).toBeLessThanOrEqual(ownerRetention);
        if (!d.uploadsEnabled) expect(e.uploadsEnabled).toBe(false);
        if (!d.humanReview) expect(e.humanReview).toBe(false);
        for (const f of fleetDocs) {
          if (f.forceLocalOnly === true) expect(e.localOnly && e.localOnlyForcedByFleet).toBe(true);
          if (f.maxRetentionDays !== undefined) expect(e.retentionDays).toBeLessThanOrEqual(f.maxRetentionDays);
          if (f.uploadsEnabled === false) expect(e.uploadsEnabled).toBe(false);
          if (f.humanReview === false) expect(e.humanReview).toBe(false);
        }
        // Nothing the fleet says can turn on what the owner and device left off.
        if (!ownerLocal && !fleetDocs.some((f) => f.forceLocalOnly === true)) expect(e.localOnly).toBe(false);
        expect(e.uploadsEnabled).toBe(d.uploadsEnabled && !fleetDocs.some((f) => f.uploadsEnabled === false));
        expect(e.humanReview).toBe(d.humanReview && !fleetDocs.some((f) => f.humanReview === false));
      }),
      { numRuns: 500 },
    );
  });

  it('merging fleet documents is order-independent', () => {
    fc.assert(
      fc.property(fc.array(anyFleetPrivacy, { maxLength: 5 }), (docs) => {
        expect(mergeFleetPrivacy(docs)).toEqual(mergeFleetPrivacy([...docs].reverse()));
      }),
      { numRuns: 200 },
    );
  });
});

describe('parser fuzz: only typed refusals, never an exception', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expect(isRefusal(verifyFleetDocument(Buffer.from(bytes), ctx))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('random JSON values, including envelope-shaped ones', () => {
    const envelopeish = fc.record({
      format: fc.constantFrom('earshot-fleet-config/1', 'x'),
      payload: fc.record({ target: fc.constantFrom('fleet', 'group:eu', 'device:x', 'nope'), version: fc.oneof(fc.integer(), fc.double()), issuedAt: fc.string(), config: fc.jsonValue() }, { requiredKeys: [] }),
      keyId: fc.stringMatching(/^[0-9a-f]{16}$/),
      signature: fc.base64String({ minLength: 88, maxLength: 88 }),
    }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), envelopeish), (v) => {
        expect(isRefusal(verifyFleetDocument(JSON.stringify(v) ?? 'null', ctx))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('single-character mutations of a valid document are refused or mean exactly the same document', () => {
    const config = { wake: { threshold: 0.6 }, privacy: { maxRetentionDays: 7 } };
    const good = signed(keys.privateKey, config, { version: 4 });
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 32, max: 126 }), (i, code) => {
        const mutated = good.slice(0, i) + String.fromCharCode(code) + good.slice(i + 1);
        const v = verifyFleetDocument(mutated, ctx);
        if (v.ok) {
          // Only the unauthenticated key-id hint (or a no-op edit) may change without refusal.
          expect(v.document.config).toEqual(config);
          expect(v.document.version).toBe(4);
          expect(v.document.target).toBe('fleet');
        } else expect(isRefusal(v)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('validly signed random configs: accepted ones never carry consent or loosening values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('privacy', 'wake', 'log', 'consent', 'capture'), fc.oneof(anyFleetPrivacy, fc.jsonValue())), (config) => {
        const v = verifyFleetDocument(signed(keys.privateKey, config, { version: 1 }), ctx);
        if (!v.ok) {
          expect(isRefusal(v)).toBe(true);
          return;
        }
        expect(JSON.stringify(v.document.config).toLowerCase()).not.toContain('consent');
        const p = v.document.config.privacy ?? {};
        expect(p.forceLocalOnly).not.toBe(false);
        expect(p.uploadsEnabled).not.toBe(true);
        expect(p.humanReview).not.toBe(true);
        // Any cap is accepted (issue 9 §7); what must hold is that it never lengthens the owner's retention.
        expect(effectivePrivacy({ localOnly: false, retentionDays: 30 }, defaultConfig().privacy, p).retentionDays).toBeLessThanOrEqual(30);
      }),
      { numRuns: 150 },
    );
  });
});
