import { createPrivateKey, type KeyObject } from 'node:crypto';
import { defaultConfig, type DeviceConfig } from '../../src/config/index.js';
import { generateFleetKeyPair, signFleetDocument, type FleetKeyPair, type SignOptions } from '../../src/fleet/index.js';

export const DEVICE_ID = 'es-kitchen01';
export const GROUPS = ['eu', 'beta'];

export function makeKeys(): FleetKeyPair & { privateKey: KeyObject } {
  const kp = generateFleetKeyPair();
  return { ...kp, privateKey: createPrivateKey(kp.privateKeyPem) };
}

export function deviceConfigPinning(...publicKeyPems: string[]): DeviceConfig {
  const c = defaultConfig();
  c.device.id = DEVICE_ID;
  c.device.groups = [...GROUPS];
  c.fleet.publicKeys = publicKeyPems;
  return c;
}

/** A signed document as the bytes that travel over MQTT. */
export function signed(key: KeyObject, config: unknown, opts: Partial<SignOptions> & { version: number }, issuedAt = new Date(Date.UTC(2026, 0, 1))): string {
  return JSON.stringify(signFleetDocument(config, key, { target: 'fleet', issuedAt, validate: false, ...opts }));
}
