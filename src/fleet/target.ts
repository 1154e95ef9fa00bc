/** Fleet targets and the MQTT topics that carry their retained documents. */
import { DEVICE_ID_PATTERN } from '../config/index.js';
import { deviceConfigTopic, FLEET_WIDE_GROUP, fleetConfigTopic, TOPIC_ROOT } from '../core/index.js';
import type { FleetTarget } from './types.js';

export { FLEET_WIDE_GROUP };

/** Group and device names are single MQTT topic levels (no '/', '+', '#'). */
export const NAME_PATTERN = DEVICE_ID_PATTERN;

export function parseTarget(s: string): FleetTarget | undefined {
  if (s === 'fleet') return 'fleet';
  const m = /^(group|device):(.*)$/.exec(s);
  if (!m || !NAME_PATTERN.test(m[2] ?? '')) return undefined;
  if (m[1] === 'group' && m[2] === FLEET_WIDE_GROUP) return undefined;
  return s as FleetTarget;
}

/** earshot/v1/fleet/all/config, earshot/v1/fleet/{group}/config or earshot/v1/devices/{deviceId}/config. */
export function topicForTarget(target: FleetTarget): string {
  if (target === 'fleet') return fleetConfigTopic(FLEET_WIDE_GROUP);
  if (target.startsWith('group:')) return fleetConfigTopic(target.slice('group:'.length));
  return deviceConfigTopic(target.slice('device:'.length));
}

/** The target whose documents a config topic carries, or undefined for any other topic. */
export function targetForTopic(topic: string): FleetTarget | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[4] !== 'config') return undefined;
  const name = parts[3] ?? '';
  if (parts[2] === 'fleet') return name === FLEET_WIDE_GROUP ? 'fleet' : parseTarget(`group:${name}`);
  if (parts[2] === 'devices') return parseTarget(`device:${name}`);
  return undefined;
}

/** Targets that address this device, most general first (the order non-privacy settings layer in). */
export function targetsForDevice(deviceId: string, groups: readonly string[]): FleetTarget[] {
  return ['fleet', ...groups.map((g) => `group:${g}` as FleetTarget), `device:${deviceId}`];
}

export function targetMatchesDevice(target: FleetTarget, deviceId: string, groups: readonly string[]): boolean {
  return targetsForDevice(deviceId, groups).includes(target);
}
