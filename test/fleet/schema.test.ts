import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (name: string) => JSON.parse(readFileSync(new URL(`../../device-config/${name}`, import.meta.url), 'utf8'));

describe('fleet-config.schema.json', () => {
  it('uses the same limits as the device config for every non-privacy field it lets a fleet set', () => {
    const device = read('schema.json');
    const fleet = read('fleet-config.schema.json');
    for (const [name, def] of Object.entries(fleet.definitions)) expect([name, def]).toEqual([name, device.definitions[name]]);
    // Device-only: noise suppression depends on the room this speaker stands in, not on a fleet's policy.
    const deviceOnly: Record<string, string[]> = { wake: ['noiseSuppressionDb'] };
    for (const section of ['wake', 'capture', 'log']) {
      const deviceProps = Object.fromEntries(Object.entries(device.properties[section].properties).filter(([k]) => !(deviceOnly[section] ?? []).includes(k)));
      expect(Object.keys(fleet.properties[section].properties)).toEqual(Object.keys(deviceProps));
      expect(fleet.properties[section].properties).toEqual(deviceProps);
    }
    for (const [section, keys] of Object.entries(deviceOnly)) for (const k of keys) expect(fleet.properties[section].properties).not.toHaveProperty(k);
  });

  it('refuses unknown keys at every level and has no consent field', () => {
    const fleet = read('fleet-config.schema.json');
    const objects: unknown[] = [];
    const walk = (v: unknown) => {
      if (v && typeof v === 'object') {
        if ((v as { type?: unknown }).type === 'object') objects.push(v);
        Object.values(v).forEach(walk);
      }
    };
    walk(fleet);
    expect(objects.length).toBeGreaterThan(4);
    for (const o of objects) expect(o).toHaveProperty('additionalProperties', false);
    expect(JSON.stringify(fleet.properties).toLowerCase()).not.toContain('"consent');
  });
});
