import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  signFleetDocument,
  verifyFleetDocument,
  type FleetTarget,
  type PrivacyBaseline,
  type VerifyContext,
} from '../../src/fleet/index.js';
import { isEarshotError } from '../../src/core/errors.js';
import { DEVICE_ID, GROUPS, makeKeys, signed } from './helpers.js';

const fleetKeys = makeKeys();
const otherKeys = makeKeys();
const NOW = Date.UTC(2026, 0, 2);
const BASELINE: PrivacyBaseline = { localOnly: false, retentionDays: 30, uploadsEnabled: true, humanReview: false };

function ctx(over: Partial<VerifyContext> = {}, last: Partial<Record<FleetTarget, number>> = {}): VerifyContext {
  return {
    publicKeys: [fleetKeys.publicKeyPem],
    deviceId: DEVICE_ID,
    groups: GROUPS,
    now: NOW,
    lastAppliedVersion: (t) => last[t],
    baseline: BASELINE,
    ...over,
  };
}

function reasonOf(raw: string | Buffer, c: VerifyContext = ctx()): string {
  const v = verifyFleetDocument(raw, c);
  return v.ok ? 'applied' : v.reason;
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: true, e: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"e":null,"f":true}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
});

describe('sign and verify', () => {
  it('a signed document verifies, whatever the key order or whitespace in transit', () => {
    const doc = signFleetDocument({ wake: { threshold: 0.6 }, privacy: { maxRetentionDays: 7 } }, fleetKeys.privateKey, {
      target: 'group:eu',
      version: 3,
      expiresAt: '2026-02-01T00:00:00Z',
      issuedAt: new Date(Date.UTC(2026, 0, 1)),
    });
    expect(doc.keyId).toBe(fleetKeys.keyId);
    const v = verifyFleetDocument(JSON.stringify(doc), ctx());
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.document).toMatchObject({ target: 'group:eu', version: 3, config: { wake: { threshold: 0.6 }, privacy: { maxRetentionDays: 7 } } });
      expect(v.document.expiresAt).toBe('2026-02-01T00:00:00.000Z');
    }
    // Re-serialised with other key order and indentation: same signed payload.
    const reordered = JSON.stringify({ signature: doc.signature, keyId: doc.keyId, payload: { config: doc.payload.config, version: 3, expiresAt: doc.payload.expiresAt, issuedAt: doc.payload.issuedAt, target: 'group:eu' }, format: doc.format }, null, 4);
    expect(reasonOf(reordered)).toBe('applied');
  });

  it('sign refuses what every device would refuse, and bad targets or versions', () => {
    const bad = (config: unknown, opts: { target?: string; version?: number; expiresAt?: string } = {}) => {
      try {
        signFleetDocument(config, fleetKeys.privateKey, { target: 'fleet', version: 1, ...opts });
      } catch (e) {
        if (isEarshotError(e, 'BAD_ARGUMENT')) return e.message;
        throw e;
      }
      return 'signed';
    };
    expect(bad({ consent: { 'cloud-processing': true } })).toContain('consent-not-allowed');
    expect(bad({ privacy: { forceLocalOnly: false } })).toContain('loosens-privacy');
    expect(bad({ wake: { threshold: 3 } })).toContain('config.wake.threshold: must be <= 1');
    expect(bad({}, { target: 'group:all' })).toContain('--target');
    expect(bad({}, { target: 'device:a/b' })).toContain('--target');
    expect(bad({}, { version: 0 })).toContain('--version');
    expect(bad({}, { expiresAt: 'tomorrow' })).toContain('--expires');
    expect(bad({ wake: { threshold: 0.7 } })).toBe('signed');
  });
});

describe('verifyFleetDocument refusals, each with its reason', () => {
  const good = signed(fleetKeys.privateKey, { wake: { threshold: 0.6 } }, { version: 5 });

  it('applies a good document', () => {
    expect(reasonOf(good)).toBe('applied');
  });

  it('oversized (> 64 KiB) before anything else', () => {
    const big = JSON.stringify({ ...JSON.parse(good), padding: 'x'.repeat(70_000) });
    expect(reasonOf(big)).toBe('too-large');
    expect(reasonOf(Buffer.alloc(65 * 1024, 0x7b))).toBe('too-large');
  });

  it('malformed JSON and non-UTF-8 bytes', () => {
    expect(reasonOf(good.slice(0, -5))).toBe('malformed-json');
    expect(reasonOf(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]))).toBe('malformed-json');
    const v = verifyFleetDocument('{"format": x}', ctx());
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.detail).toContain('line 1 column');
  });

  it('__proto__, constructor or prototype keys anywhere', () => {
    expect(reasonOf(good.replace('"wake":', '"__proto__":{"polluted":1},"wake":'))).toBe('forbidden-key');
    expect(reasonOf(good.replace('"threshold":', '"constructor":{},"threshold":'))).toBe('forbidden-key');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a wrong envelope (unknown fields, missing signature, bad format)', () => {
    const doc = JSON.parse(good);
    expect(reasonOf(JSON.stringify({ ...doc, extra: 1 }))).toBe('bad-envelope');
    expect(reasonOf(JSON.stringify({ ...doc, signature: undefined }))).toBe('bad-envelope');
    expect(reasonOf(JSON.stringify({ ...doc, format: 'other/1' }))).toBe('bad-envelope');
    expect(reasonOf(JSON.stringify({ ...doc, payload: { ...doc.payload, version: 1.5 } }))).toBe('bad-envelope');
    expect(reasonOf('[]')).toBe('bad-envelope');
  });

  it('a bad signature (tampered payload) and a wrong key', () => {
    const doc = JSON.parse(good);
    doc.payload.config.wake.threshold = 0.9;
    expect(reasonOf(JSON.stringify(doc))).toBe('bad-signature');
    // Signed by a key the device does not pin.
    expect(reasonOf(signed(otherKeys.privateKey, {}, { version: 6 }))).toBe('unknown-key');
    // A foreign key claiming the pinned key's id is still just a bad signature.
    const forged = JSON.parse(signed(otherKeys.privateKey, {}, { version: 6 }));
    forged.keyId = fleetKeys.keyId;
    expect(reasonOf(JSON.stringify(forged))).toBe('bad-signature');
    // Any of several pinned keys may sign.
    expect(reasonOf(signed(otherKeys.privateKey, {}, { version: 6 }), ctx({ publicKeys: [fleetKeys.publicKeyPem, otherKeys.publicKeyPem] }))).toBe('applied');
    expect(reasonOf(good, ctx({ publicKeys: [] }))).toBe('no-pinned-key');
  });

  it('a document that grants or touches consent', () => {
    expect(reasonOf(signed(fleetKeys.privateKey, { consent: { 'cloud-processing': 'grant' } }, { version: 6 }))).toBe('consent-not-allowed');
    expect(reasonOf(signed(fleetKeys.privateKey, { privacy: { cloudConsent: true } }, { version: 6 }))).toBe('consent-not-allowed');
  });

  it('a document that tries to turn off local-only, enable uploads or human review; every retention cap is accepted', () => {
    const r = (privacy: unknown) => reasonOf(signed(fleetKeys.privateKey, { privacy }, { version: 6 }));
    expect(r({ forceLocalOnly: false })).toBe('loosens-privacy');
    expect(r({ uploadsEnabled: true })).toBe('loosens-privacy');
    expect(r({ humanReview: true })).toBe('loosens-privacy');
    // Tightening is fine.
    expect(r({ maxRetentionDays: 7, forceLocalOnly: true, uploadsEnabled: false, humanReview: false })).toBe('applied');
    expect(r({ maxRetentionDays: 30 })).toBe('applied');
    // A cap above the owner's 30 days cannot loosen anything (effective retention is the minimum): accepted.
    expect(r({ maxRetentionDays: 90 })).toBe('applied');
    expect(r({ maxRetentionDays: 365 })).toBe('applied');
  });

  it('unknown keys and out-of-range values (payload schema)', () => {
    expect(reasonOf(signed(fleetKeys.privateKey, { wake: { threshhold: 0.6 } }, { version: 6 }))).toBe('bad-schema');
    expect(reasonOf(signed(fleetKeys.privateKey, { uplink: { brokerUrl: 'mqtt://evil' } }, { version: 6 }))).toBe('bad-schema');
    expect(reasonOf(signed(fleetKeys.privateKey, { capture: { maxMs: 5 } }, { version: 6 }))).toBe('bad-schema');
    expect(reasonOf(signed(fleetKeys.privateKey, { privacy: { forceLocalOnly: 'yes' } }, { version: 6 }))).toBe('bad-schema');
  });

  it("another device's or another group's target; this device's groups match", () => {
    expect(reasonOf(signed(fleetKeys.privateKey, {}, { version: 6, target: 'device:es-other' }))).toBe('wrong-target');
    expect(reasonOf(signed(fleetKeys.privateKey, {}, { version: 6, target: 'group:us' }))).toBe('wrong-target');
    expect(reasonOf(signed(fleetKeys.privateKey, {}, { version: 6, target: 'group:beta' }))).toBe('applied');
    expect(reasonOf(signed(fleetKeys.privateKey, {}, { version: 6, target: `device:${DEVICE_ID}` }))).toBe('applied');
    // The signed target must match the topic it came on.
    expect(reasonOf(signed(fleetKeys.privateKey, {}, { version: 6, target: 'group:beta' }), ctx({ topicTarget: 'fleet' }))).toBe('topic-mismatch');
  });

  it('expired (clock injected)', () => {
    const doc = signed(fleetKeys.privateKey, {}, { version: 6, expiresAt: '2026-01-01T12:00:00Z' });
    expect(reasonOf(doc, ctx({ now: Date.UTC(2026, 0, 1, 11, 59) }))).toBe('applied');
    expect(reasonOf(doc, ctx({ now: Date.UTC(2026, 0, 1, 12, 0) }))).toBe('expired');
  });

  it('replayed older or equal version for the same target; other targets count separately', () => {
    const doc = signed(fleetKeys.privateKey, {}, { version: 5 });
    expect(reasonOf(doc, ctx({}, { fleet: 5 }))).toBe('not-newer');
    expect(reasonOf(doc, ctx({}, { fleet: 9 }))).toBe('not-newer');
    expect(reasonOf(doc, ctx({}, { fleet: 4 }))).toBe('applied');
    expect(reasonOf(doc, ctx({}, { 'group:eu': 50 }))).toBe('applied');
  });

  it('checks run in the documented order (signature before policy, target before expiry before version)', () => {
    // Unsigned consent grab: the signature fails first.
    expect(reasonOf(signed(otherKeys.privateKey, { consent: true }, { version: 1 }))).toBe('unknown-key');
    // Wrong target, expired and old: wrong-target wins.
    const d = signed(fleetKeys.privateKey, {}, { version: 1, target: 'device:x', expiresAt: '2026-01-01T00:00:01Z' });
    expect(reasonOf(d, ctx({}, { 'device:x': 3 }))).toBe('wrong-target');
    const e = signed(fleetKeys.privateKey, {}, { version: 1, expiresAt: '2026-01-01T00:00:01Z' });
    expect(reasonOf(e, ctx({}, { fleet: 3 }))).toBe('expired');
  });
});
