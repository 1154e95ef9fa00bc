/**
 * `earshot fleet push`: publish a signed document, retained, QoS 1, to the topic its target implies, and
 * report the broker's PUBACK reason code (0x87 "not authorized" when the broker ACL refuses the sender).
 */
import { readFile } from 'node:fs/promises';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { EarshotError, errorMessage } from '../core/index.js';
import { parseJson } from '../config/index.js';
import { parseTarget, topicForTarget } from './target.js';
import { MAX_FLEET_DOCUMENT_BYTES, type FleetTarget } from './types.js';

export interface PushOptions {
  brokerUrl: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  clientId?: string;
  username?: string;
  timeoutMs?: number;
  /** 5 (default); 4 only for brokers without MQTT 5 such as the embedded demo broker. */
  protocolVersion?: 4 | 5;
}

export interface PushResult {
  topic: string;
  target: FleetTarget;
  version: number;
  /** PUBACK reason code: 0 success, 16 no matching subscribers (still retained), >= 0x80 refused. */
  reasonCode: number;
  reason: string;
}

const PUBACK_REASONS: Record<number, string> = {
  0: 'success',
  16: 'no matching subscribers',
  128: 'unspecified error',
  131: 'implementation specific error',
  135: 'not authorized',
  144: 'topic name invalid',
  149: 'packet too large',
  151: 'quota exceeded',
  153: 'payload format invalid',
  154: 'retain not supported',
};

export function pubackReason(code: number): string {
  return PUBACK_REASONS[code] ?? `reason code 0x${code.toString(16)}`;
}

/** Target and version of a signed document, read without verifying (the devices verify). */
export function documentAddress(bytes: Buffer): { target: FleetTarget; version: number; topic: string } {
  if (bytes.length > MAX_FLEET_DOCUMENT_BYTES) throw new EarshotError('BAD_ARGUMENT', `the document is ${bytes.length} bytes; devices refuse more than ${MAX_FLEET_DOCUMENT_BYTES}`);
  const parsed = parseJson(bytes.toString('utf8'));
  if (!parsed.ok) throw new EarshotError('BAD_ARGUMENT', `not a signed fleet document: invalid JSON at line ${parsed.line} column ${parsed.column}`);
  const payload = (parsed.value as { payload?: { target?: unknown; version?: unknown } } | null)?.payload;
  const target = typeof payload?.target === 'string' ? parseTarget(payload.target) : undefined;
  const version = payload?.version;
  if (target === undefined || typeof version !== 'number') throw new EarshotError('BAD_ARGUMENT', 'not a signed fleet document: payload.target or payload.version missing');
  return { target, version, topic: topicForTarget(target) };
}

async function readPem(path: string | undefined, what: string): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (e) {
    throw new EarshotError('BAD_ARGUMENT', `--${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
  }
}

export async function pushFleetDocument(document: Buffer, opts: PushOptions): Promise<PushResult> {
  const { target, version, topic } = documentAddress(document);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const options: IClientOptions = {
    protocolVersion: opts.protocolVersion ?? 5,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    clientId: opts.clientId ?? `earshot-fleet-${process.pid}-${Date.now().toString(36)}`,
  };
  const ca = await readPem(opts.caFile, 'ca');
  const cert = await readPem(opts.certFile, 'cert');
  const key = await readPem(opts.keyFile, 'key');
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (opts.username) options.username = opts.username;

  let client: MqttClient;
  try {
    client = await connectAsync(opts.brokerUrl, options);
  } catch (e) {
    throw new EarshotError('UPLINK_UNAVAILABLE', `cannot connect to ${opts.brokerUrl}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    // mqtt.js hands the success callback the stored PUBLISH, not the PUBACK: read the reason code off the wire.
    const pubackCodes = new Map<number, number>();
    client.on('packetreceive', (p) => {
      if (p.cmd === 'puback' && typeof p.messageId === 'number') pubackCodes.set(p.messageId, p.reasonCode ?? 0);
    });
    const reasonCode = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new EarshotError('UPLINK_UNAVAILABLE', `no PUBACK from ${opts.brokerUrl} within ${timeoutMs} ms`)), timeoutMs);
      client.publish(topic, document, { qos: 1, retain: true, properties: { contentType: 'application/json', payloadFormatIndicator: true } }, (err, packet) => {
        clearTimeout(timer);
        const code = (err as { code?: unknown } | undefined)?.code;
        if (err && typeof code === 'number') resolve(code);
        else if (err) reject(new EarshotError('UPLINK_UNAVAILABLE', `publish failed: ${errorMessage(err)}`, { cause: err }));
        else resolve((packet?.messageId !== undefined ? pubackCodes.get(packet.messageId) : undefined) ?? 0);
      });
    });
    return { topic, target, version, reasonCode, reason: pubackReason(reasonCode) };
  } finally {
    // The PUBACK already decided the result; a failing disconnect cannot change it, so it is not an error.
    await client.endAsync().catch(() => undefined);
  }
}
