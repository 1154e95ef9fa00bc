/**
 * MQTT topic names: the one definition, used by the uplink (publishing, subscribing) and the fleet tools
 * (pushing config). Ids are opaque device/recording ids: never owner ids or names, because brokers log topics.
 * Every id placed in a topic is validated so it cannot add levels or wildcards.
 */
import { EarshotError } from './errors.js';

export const TOPIC_ROOT = 'earshot/v1';
/** Fleet-wide config documents (target "fleet") travel on the config topic of this reserved group name. */
export const FLEET_WIDE_GROUP = 'all';

/** A topic level must not be empty nor contain '/', '+', '#' or NUL (it would change the topic's meaning). */
export function assertTopicLevel(kind: string, value: string): string {
  if (value.length === 0 || value.length > 128 || /[/+#\u0000]/.test(value)) {
    throw new EarshotError('BAD_ARGUMENT', `${kind} is not usable as an MQTT topic level: ${JSON.stringify(value.slice(0, 40))}`);
  }
  return value;
}

export function deviceTopicRoot(deviceId: string): string {
  return `${TOPIC_ROOT}/devices/${assertTopicLevel('device id', deviceId)}`;
}

export function recordingTopic(deviceId: string, recordingId: string): string {
  return `${deviceTopicRoot(deviceId)}/recordings/${assertTopicLevel('recording id', recordingId)}`;
}

export function statusTopic(deviceId: string): string {
  return `${deviceTopicRoot(deviceId)}/status`;
}

export function deviceConfigTopic(deviceId: string): string {
  return `${deviceTopicRoot(deviceId)}/config`;
}

export function fleetConfigTopic(group: string): string {
  return `${TOPIC_ROOT}/fleet/${assertTopicLevel('group', group)}/config`;
}

/** The recording id of a recordings topic, or undefined (used by subscribers that deduplicate by id). */
export function recordingIdFromTopic(topic: string): string | undefined {
  const m = /^earshot\/v1\/devices\/[^/]+\/recordings\/([^/]+)$/.exec(topic);
  return m?.[1];
}

/** Topics a device subscribes to for fleet configuration: its own, the fleet-wide one and one per group. */
export function configTopicsFor(device: { id: string; groups: readonly string[] }): string[] {
  const groups = new Set([FLEET_WIDE_GROUP, ...device.groups]);
  return [deviceConfigTopic(device.id), ...[...groups].map(fleetConfigTopic)];
}
