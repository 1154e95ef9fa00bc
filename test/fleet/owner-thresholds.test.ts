/** Per-owner thresholds under the fleet's floor (src/fleet/owner-thresholds.ts): pure, no I/O. */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/index.js';
import { effectiveDeviceConfig, fleetThresholdFloor, wakeWithOwnerThresholds, type AppliedFleetDocument, type FleetConfig } from '../../src/fleet/index.js';

function doc(target: AppliedFleetDocument['target'], config: FleetConfig): AppliedFleetDocument {
  return { target, version: 1, issuedAt: '2026-12-01T00:00:00Z', expiresAt: undefined, config, keyId: 'k', digest: 'd' };
}

const device = () => {
  const c = defaultConfig();
  c.wake.words = [{ name: 'alexa' }, { name: 'hey_jarvis', threshold: 0.55 }];
  c.wake.threshold = 0.5;
  return c;
};

describe('fleetThresholdFloor', () => {
  it('layers like every other setting: the last words list naming the word, else the last wake.threshold, else 0', () => {
    expect(fleetThresholdFloor([])('alexa')).toBe(0);
    const docs = [doc('fleet', { wake: { threshold: 0.6 } }), doc('group:kitchen', { wake: { words: [{ name: 'alexa', threshold: 0.8 }, { name: 'hey_jarvis' }] } })];
    const floor = fleetThresholdFloor(docs);
    expect(floor('alexa')).toBe(0.8);
    expect(floor('hey_jarvis')).toBe(0.6);
    // A later document's wake.threshold replaces the earlier one's; the words list stays.
    const later = fleetThresholdFloor([...docs, doc('device:spk-1', { wake: { threshold: 0.7 } })]);
    expect(later('alexa')).toBe(0.8);
    expect(later('hey_jarvis')).toBe(0.7);
  });
});

describe('wakeWithOwnerThresholds', () => {
  it("an owner's choice replaces the running threshold (lower too) but never goes below the fleet's floor; unchosen words keep the running config", () => {
    const docs = [doc('fleet', { wake: { words: [{ name: 'alexa', threshold: 0.6 }, { name: 'hey_jarvis', threshold: 0.55 }] } })];
    const live = effectiveDeviceConfig(device(), docs).wake;
    expect(live.words).toEqual([{ name: 'alexa', threshold: 0.6 }, { name: 'hey_jarvis', threshold: 0.55 }]);
    const none = wakeWithOwnerThresholds(live, docs, () => undefined);
    expect(none).toEqual(live);
    const chosen = wakeWithOwnerThresholds(live, docs, (w) => (w === 'alexa' ? 0.4 : w === 'hey_jarvis' ? 0.3 : undefined));
    expect(chosen.words).toEqual([{ name: 'alexa', threshold: 0.6 }, { name: 'hey_jarvis', threshold: 0.55 }]);
    const stricter = wakeWithOwnerThresholds(live, docs, (w) => (w === 'alexa' ? 0.9 : undefined));
    expect(stricter.words).toEqual([{ name: 'alexa', threshold: 0.9 }, { name: 'hey_jarvis', threshold: 0.55 }]);
    // Without fleet documents the owner may go below the device config: it is their choice.
    const own = wakeWithOwnerThresholds(device().wake, [], (w) => (w === 'hey_jarvis' ? 0.35 : undefined));
    expect(own.words).toEqual([{ name: 'alexa' }, { name: 'hey_jarvis', threshold: 0.35 }]);
    // Other wake settings are the running config's.
    expect({ ...chosen, words: [] }).toEqual({ ...live, words: [] });
  });

  it('whatever the owner chooses and whatever the documents set, the result is at least the floor of every word', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 300; i++) {
      const t = () => Math.round((0.05 + rnd() * 0.95) * 100) / 100;
      const docs = [doc('fleet', { wake: { threshold: t() } }), ...(rnd() < 0.5 ? [doc('device:spk-1', { wake: { words: [{ name: 'alexa', threshold: t() }, { name: 'hey_jarvis' }] } })] : [])];
      const live = effectiveDeviceConfig(device(), docs).wake;
      const choice = t();
      const out = wakeWithOwnerThresholds(live, docs, () => choice);
      const floor = fleetThresholdFloor(docs);
      for (const w of out.words) expect(w.threshold!).toBeGreaterThanOrEqual(floor(w.name));
      for (const w of out.words) expect(w.threshold!).toBeGreaterThanOrEqual(choice);
    }
  });
});
