/**
 * Issue 9 §7: a signed fleet document must not make the speaker record more. Every wake/capture setting may
 * only move in its strict direction relative to this device's own settings; anything else is refused as
 * 'loosens-privacy' naming the field, and the running configuration does not change.
 */
import { describe, expect, it } from 'vitest';
import { FleetConfigReceiver, type FleetReceiveResult } from '../../src/fleet/index.js';
import type { DeviceConfig } from '../../src/config/index.js';
import { FakeClock, MemoryAuditSink, MemorySettingsRepo } from '../privacy/fakes.js';
import { deviceConfigPinning, makeKeys, signed } from './helpers.js';

const keys = makeKeys();
const TOPIC = 'earshot/v1/fleet/all/config';

/** This device's own settings: two wake words, one with its own threshold; VAD gate on. */
function device(): DeviceConfig {
  const c = deviceConfigPinning(keys.publicKeyPem);
  c.wake = { words: [{ name: 'hey_jarvis' }, { name: 'alexa', threshold: 0.7 }], threshold: 0.5, patienceFrames: 2, refractoryMs: 2000, phases: 2, vadGate: true };
  c.capture = { endSilenceMs: 700, maxMs: 10_000, noSpeechTimeoutMs: 3000, vadThreshold: 0.5 };
  return c;
}

function receiver(settings = new MemorySettingsRepo(), cfg = device()) {
  return new FleetConfigReceiver({ deviceId: cfg.device.id, deviceConfig: cfg, settings, audit: new MemoryAuditSink(), clock: new FakeClock(Date.UTC(2026, 0, 2)) });
}

async function send(r: FleetConfigReceiver, config: unknown, version = 1): Promise<FleetReceiveResult> {
  return r.receive(TOPIC, signed(keys.privateKey, config, { version }));
}

describe('a fleet document may only make capture less eager', () => {
  const loosening: [string, unknown][] = [
    ['wake.threshold', { wake: { threshold: 0.0001 } }],
    ['wake.threshold', { wake: { threshold: 0.49 } }],
    ['wake.patienceFrames', { wake: { patienceFrames: 1 } }],
    ['wake.refractoryMs', { wake: { refractoryMs: 0 } }],
    ['wake.phases', { wake: { phases: 8 } }],
    ['wake.vadGate', { wake: { vadGate: false } }],
    ['wake.words[1].name', { wake: { words: [{ name: 'hey_jarvis' }, { name: 'hey_mycroft' }] } }],
    ['wake.words[0].threshold', { wake: { words: [{ name: 'alexa', threshold: 0.6 }] } }],
    // alexa's own 0.7 would be replaced by the inherited document threshold 0.6.
    ['wake.words[0].threshold', { wake: { threshold: 0.6, words: [{ name: 'alexa' }] } }],
    ['capture.maxMs', { capture: { maxMs: 60_000 } }],
    ['capture.noSpeechTimeoutMs', { capture: { noSpeechTimeoutMs: 30_000, maxMs: 10_000 } }],
    ['capture.endSilenceMs', { capture: { endSilenceMs: 5000 } }],
    ['capture.vadThreshold', { capture: { vadThreshold: 0.1 } }],
    // One loosening field spoils an otherwise strict document.
    ['capture.maxMs', { privacy: { forceLocalOnly: true }, wake: { threshold: 0.9 }, capture: { maxMs: 20_000 } }],
  ];
  for (const [field, config] of loosening) {
    it(`refuses ${JSON.stringify(config)} as loosens-privacy naming ${field}`, async () => {
      const r = receiver();
      const before = r.state();
      const res = await send(r, config);
      expect(res).toMatchObject({ status: 'refused', reason: 'loosens-privacy' });
      expect(res.detail?.startsWith(`${field}:`)).toBe(true);
      expect(r.state().config).toEqual(before.config);
      expect(r.state().versions).toEqual({});
    });
  }

  it('accepts every change in the strict direction, and equal values', async () => {
    const r = receiver();
    const res = await send(r, {
      wake: { threshold: 0.6, patienceFrames: 3, refractoryMs: 5000, phases: 1, vadGate: true, words: [{ name: 'alexa', threshold: 0.9 }] },
      capture: { maxMs: 6000, noSpeechTimeoutMs: 2000, endSilenceMs: 500, vadThreshold: 0.6 },
    });
    expect(res.status).toBe('applied');
    const c = r.state().config;
    expect(c.wake).toEqual({ threshold: 0.6, patienceFrames: 3, refractoryMs: 5000, phases: 1, vadGate: true, words: [{ name: 'alexa', threshold: 0.9 }] });
    expect(c.capture).toEqual({ maxMs: 6000, noSpeechTimeoutMs: 2000, endSilenceMs: 500, vadThreshold: 0.6 });
    const same = receiver();
    expect((await send(same, { wake: { threshold: 0.5, patienceFrames: 2, words: [{ name: 'hey_jarvis' }] }, capture: { maxMs: 10_000 } })).status).toBe('applied');
  });

  it('removing a wake word is accepted; the removed word no longer fires', async () => {
    const r = receiver();
    expect((await send(r, { wake: { words: [{ name: 'hey_jarvis' }] } })).status).toBe('applied');
    expect(r.state().config.wake.words).toEqual([{ name: 'hey_jarvis' }]);
  });

  it('a retention cap longer than the owner\'s is a cap, not a loosening: accepted, effective retention stays the minimum', async () => {
    const r = new FleetConfigReceiver({
      deviceId: device().device.id,
      deviceConfig: device(),
      settings: new MemorySettingsRepo(),
      audit: new MemoryAuditSink(),
      baseline: async () => ({ localOnly: false, retentionDays: 30, uploadsEnabled: true, humanReview: false }),
    });
    expect((await send(r, { privacy: { maxRetentionDays: 90 } })).status).toBe('applied');
    expect(r.state().config.privacy.retentionDays).toBe(30);
  });

  it('a stored document never loosens a device config made stricter later (restore clamps to the device\'s own settings)', async () => {
    const settings = new MemorySettingsRepo();
    const first = receiver(settings);
    expect((await send(first, { wake: { threshold: 0.6, words: [{ name: 'hey_jarvis' }, { name: 'alexa', threshold: 0.7 }] }, capture: { maxMs: 8000 } })).status).toBe('applied');
    // The owner then makes the device stricter than that document and drops alexa.
    const stricter = device();
    stricter.wake.threshold = 0.8;
    stricter.wake.words = [{ name: 'hey_jarvis' }];
    stricter.capture.maxMs = 5000;
    const restored = await receiver(settings, stricter).restore();
    expect(restored.documents).toHaveLength(1);
    expect(restored.config.wake.threshold).toBe(0.8);
    expect(restored.config.wake.words).toEqual([{ name: 'hey_jarvis' }]);
    expect(restored.config.capture.maxMs).toBe(5000);
  });

  it('property: whatever random documents are accepted, the running config is never more eager than the device\'s own', async () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const base = device();
    const r = receiver();
    let applied = 0;
    for (let version = 1; version <= 300; version++) {
      const wake: Record<string, unknown> = {};
      const capture: Record<string, unknown> = {};
      if (rnd() < 0.4) wake['threshold'] = pick([0.1, 0.4, 0.5, 0.6, 0.95]);
      if (rnd() < 0.3) wake['patienceFrames'] = pick([1, 2, 3, 10]);
      if (rnd() < 0.3) wake['refractoryMs'] = pick([0, 1000, 2000, 9000]);
      if (rnd() < 0.3) wake['phases'] = pick([1, 2, 4]);
      if (rnd() < 0.2) wake['vadGate'] = pick([true, false]);
      if (rnd() < 0.3) wake['words'] = pick([[{ name: 'hey_jarvis' }], [{ name: 'alexa', threshold: pick([0.5, 0.7, 0.9]) }], [{ name: 'hey_jarvis' }, { name: 'hey_mycroft' }]]);
      if (rnd() < 0.4) capture['maxMs'] = pick([4000, 10_000, 30_000]);
      if (rnd() < 0.3) capture['noSpeechTimeoutMs'] = pick([1000, 3000, 9000]);
      if (rnd() < 0.3) capture['endSilenceMs'] = pick([300, 700, 2000]);
      if (rnd() < 0.3) capture['vadThreshold'] = pick([0.2, 0.5, 0.8]);
      const res = await send(r, { ...(Object.keys(wake).length ? { wake } : {}), ...(Object.keys(capture).length ? { capture } : {}) }, version);
      if (res.status === 'applied') applied++;
      const c = r.state().config;
      expect(c.wake.threshold).toBeGreaterThanOrEqual(base.wake.threshold);
      expect(c.wake.patienceFrames).toBeGreaterThanOrEqual(base.wake.patienceFrames);
      expect(c.wake.refractoryMs).toBeGreaterThanOrEqual(base.wake.refractoryMs);
      expect(c.wake.phases).toBeLessThanOrEqual(base.wake.phases);
      expect(c.wake.vadGate).toBe(true);
      for (const w of c.wake.words) {
        const own = base.wake.words.find((x) => x.name === w.name);
        expect(own).toBeDefined();
        expect(w.threshold ?? c.wake.threshold).toBeGreaterThanOrEqual(own!.threshold ?? base.wake.threshold);
      }
      expect(c.capture.maxMs).toBeLessThanOrEqual(base.capture.maxMs);
      expect(c.capture.noSpeechTimeoutMs).toBeLessThanOrEqual(base.capture.noSpeechTimeoutMs);
      expect(c.capture.endSilenceMs).toBeLessThanOrEqual(base.capture.endSilenceMs);
      expect(c.capture.vadThreshold).toBeGreaterThanOrEqual(base.capture.vadThreshold);
    }
    // The generator produces both kinds: the property is not vacuous.
    expect(applied).toBeGreaterThan(10);
    expect(applied).toBeLessThan(290);
  });
});
