/**
 * The device id: an opaque, stable name used in MQTT topics and bound into every sealed record.
 * `config.device.id` may set it explicitly (fleet provisioning); when it is empty (the default) the id is the
 * one `earshot init` wrote to `<dataDir>/device-id` — generated once, so it never changes across restarts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EarshotError, errorMessage } from '../core/index.js';
import type { DeviceConfig } from './types.js';

export const DEVICE_ID_FILE = 'device-id';
/** Same rule as device-config/schema.json `device.id`: safe as one MQTT topic level. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A new random id, e.g. `es-3f9c0a7be21d4c55`: carries nothing about the owner or the hardware. */
export function generateDeviceId(): string {
  return `es-${randomBytes(8).toString('hex')}`;
}

export function deviceIdPath(dataDir: string): string {
  return join(dataDir, DEVICE_ID_FILE);
}

/** Read the id stored in the data directory, or undefined when `earshot init` has not run. */
export async function readStoredDeviceId(dataDir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(deviceIdPath(dataDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EarshotError('STORE_IO', `cannot read ${deviceIdPath(dataDir)}: ${errorMessage(e)}`, { cause: e });
  }
  const id = text.trim();
  if (!DEVICE_ID_PATTERN.test(id)) {
    throw new EarshotError('STORE_CORRUPT', `${deviceIdPath(dataDir)}: not a valid device id`);
  }
  return id;
}

/**
 * For `earshot init`: store `id` (default: a new random one) unless an id is stored already, and return
 * the stored id. Exclusive create, so a second init never changes a device's identity.
 */
export async function ensureStoredDeviceId(dataDir: string, id: string = generateDeviceId()): Promise<string> {
  if (!DEVICE_ID_PATTERN.test(id)) throw new EarshotError('BAD_ARGUMENT', `device id "${id}" is not valid (letters, digits, _ . -; max 64)`);
  const existing = await readStoredDeviceId(dataDir);
  if (existing !== undefined) return existing;
  try {
    // The data directory holds the key file too: private to the service user.
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFile(deviceIdPath(dataDir), id + '\n', { flag: 'wx', mode: 0o644 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return (await readStoredDeviceId(dataDir)) as string;
    throw new EarshotError('STORE_IO', `cannot write ${deviceIdPath(dataDir)}: ${errorMessage(e)}`, { cause: e });
  }
  return id;
}

/** The effective device id: config wins when set; otherwise the stored one; otherwise NOT_INITIALISED. */
export async function resolveDeviceId(config: Pick<DeviceConfig, 'device' | 'dataDir'>): Promise<string> {
  if (config.device.id !== '') return config.device.id;
  const stored = await readStoredDeviceId(config.dataDir);
  if (stored === undefined) {
    throw new EarshotError('NOT_INITIALISED', `no device id: run \`earshot init\` (data dir ${config.dataDir}) or set device.id in the config`);
  }
  return stored;
}
