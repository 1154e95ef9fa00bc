/** A "cloud" subscriber on a test broker that records which recording ids arrived (deduplicated by id). */
import { readFileSync } from 'node:fs';
import { connect, type MqttClient } from 'mqtt';
import { readRecordingMeta } from '../../../src/uplink/recording-message.js';
import { recordingIdFromTopic } from '../../../src/core/topics.js';
import type { TestBroker } from '../../helpers/mosquitto.js';

export interface Observer {
  client: MqttClient;
  /** Distinct recording ids received. */
  ids: Set<string>;
  /** Every recording message, duplicates included. */
  deliveries: number;
  /** Non-recording messages (status, config) as [topic, payload]. */
  others: [string, string][];
  /** Recording ids whose payload or properties did not match the expected shape. */
  malformed: string[];
  close(): Promise<void>;
}

/** The ACL template plus a test-only user that may read everything (the "subscriber on #"). */
export function aclWithObserver(shipped: string): string {
  return shipped + '\n# test only\nuser observer\ntopic read #\n';
}

export async function startObserver(broker: TestBroker, opts: { cn?: string; topic?: string } = {}): Promise<Observer> {
  const cn = opts.cn ?? 'observer';
  const cert = broker.clientCert(cn);
  const client = connect(broker.url, {
    protocolVersion: 5,
    clientId: `${cn}-${Math.random().toString(36).slice(2, 8)}`,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    ca: readFileSync(broker.caFile!),
    cert: readFileSync(cert.certFile),
    key: readFileSync(cert.keyFile),
    reconnectPeriod: 100,
    connectTimeout: 3000,
  });
  const obs: Observer = {
    client,
    ids: new Set(),
    deliveries: 0,
    others: [],
    malformed: [],
    close: () => client.endAsync(true),
  };
  client.on('message', (topic, payload, packet) => {
    const id = recordingIdFromTopic(topic);
    if (!id) {
      obs.others.push([topic, payload.toString()]);
      return;
    }
    obs.deliveries++;
    obs.ids.add(id);
    const meta = readRecordingMeta(packet.properties as Parameters<typeof readRecordingMeta>[0]);
    if (meta?.recordingId !== id || meta.contentType !== 'audio/wav' || payload.toString('ascii', 0, 4) !== 'RIFF') obs.malformed.push(id);
  });
  await new Promise<void>((res, rej) => {
    client.once('connect', () => res());
    client.once('error', rej);
  });
  await client.subscribeAsync(opts.topic ?? '#', { qos: 1 });
  return obs;
}
