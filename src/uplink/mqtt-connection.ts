/**
 * The device's MQTT 5 connection to the fleet broker.
 *
 * - TLS with the fleet CA, a client certificate and key (mqtts:// URLs); clientId = device id.
 * - Clean Start off + session expiry, so the broker keeps this device's subscriptions (fleet config) while it
 *   is briefly away.
 * - Reconnects with exponential backoff and jitter scheduled here (mqtt.js' own reconnectPeriod is a fixed
 *   interval, so it is set to 0 and `client.reconnect()` is called from our timer).
 * - A retained last will `{"online":false}` on the status topic; a retained online status on every connect.
 *
 * Recording publishes never survive a connection loss inside mqtt.js: when the connection closes, every
 * unacknowledged recording is removed from the client's outgoing store and reported `connection-lost`.
 * The SQLite outbox still holds it, and the publisher asks the consent gate again before re-publishing after
 * the reconnect. Otherwise mqtt.js would replay its stored packets on reconnect without asking, which could
 * send audio after local-only was switched on or consent was withdrawn while the device was offline.
 * Withdrawal uses mqtt.js' public surface only: `removeOutgoingMessage` for a packet with a message id, and our
 * own `outgoingStore` (a client option) that refuses to store — and so mqtt.js never writes — a withdrawn one.
 *
 * Every wait is bounded: neither the SUBACK nor the status PUBACK gates readiness, `link` reports a broker
 * that accepts bytes but acknowledges nothing, and stop() destroys the connection when the broker does not let
 * it close within its budget (nothing unacknowledged is reported sent).
 */
import { readFileSync } from 'node:fs';
import { connect, Store, type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import type { Clock } from '../core/index.js';
import { systemClock } from '../core/index.js';
import { EarshotError, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { silentLogger } from '../core/index.js';
import { backoffDelayMs } from '../core/index.js';
import { type DeviceStatusFields, encodeStatus } from './device-status.js';
import type { RecordingMessage } from './recording-message.js';
import { statusTopic } from '../core/index.js';
import type { LinkState, PublishHandle, PublishResult, RecordingTransport } from './transport.js';

export interface MqttConnectionOptions {
  /** mqtt://, mqtts://, ws:// … */
  brokerUrl: string;
  deviceId: string;
  /**
   * 5 (default). 4 (MQTT 3.1.1) only for the embedded aedes demo broker, which has no MQTT 5: properties
   * (content type, user properties, session expiry) are then not sent and PUBACKs carry no reason code.
   */
  protocolVersion?: 4 | 5;
  /** PEM paths; empty or undefined = not used. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  sessionExpirySec: number;
  keepaliveSec: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs?: number;
  /**
   * A publish or subscribe not acknowledged within this time makes `link` 'not-acknowledging'. Default 10 s.
   */
  ackTimeoutMs?: number;
  /** Budget of stop(): offline status, DISCONNECT, then the socket is destroyed. Default 3000 ms. */
  stopTimeoutMs?: number;
  /** Topic filters to subscribe to (QoS 1, retain-handling 1 so a resumed session is not re-sent retained config). */
  subscriptions?: string[];
  /** Current non-personal state for the retained status document. */
  statusFields?: () => Promise<DeviceStatusFields> | DeviceStatusFields;
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
}

export type MessageListener = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

interface InFlight {
  topic: string;
  messageId: number | undefined;
  callback: (err?: Error, packet?: unknown) => void;
  cancelWhy: 'purged' | 'connection-lost' | undefined;
  settle: (r: PublishResult) => void;
}

/** mqtt.js reports the PUBACK reason code on an ErrorWithReasonCode. */
function reasonCodeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * mqtt.js' default in-memory outgoing store, except that it refuses to store a publish on a withdrawn topic.
 * mqtt.js stores every QoS 1 publish before writing it and writes only when the store accepted it, so a
 * recording withdrawn while queued inside the client (no message id yet) is never sent; it stays in the outbox.
 * mqtt.js keeps the refused packet's message id reserved, so `onRefused` gets it to release it
 * (`removeOutgoingMessage`, which also ends the publish's callback with "Message removed").
 */
export class WithdrawingStore extends Store {
  private readonly withdrawn = new Set<string>();
  constructor(private readonly onRefused: (messageId: number) => void = () => {}) {
    super();
  }
  withdraw(topic: string): void {
    this.withdrawn.add(topic);
  }
  forget(topic: string): void {
    this.withdrawn.delete(topic);
  }
  override put(packet: Packet, cb: (err?: Error) => void): this {
    if (packet.cmd === 'publish' && this.withdrawn.has(String(packet.topic))) {
      this.withdrawn.delete(String(packet.topic));
      cb(new EarshotError('UPLINK_UNAVAILABLE', 'publish withdrawn before it was sent'));
      const id = packet.messageId;
      if (id !== undefined) setImmediate(() => this.onRefused(id));
      return this;
    }
    return super.put(packet, cb);
  }
}

function readPem(kind: string, file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (e) {
    throw new EarshotError('CONFIG_INVALID', `uplink ${kind} file cannot be read: ${file} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`);
  }
}

export class MqttConnection implements RecordingTransport {
  private client: MqttClient | undefined;
  private isReady = false;
  private stopping = false;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<InFlight>();
  private readonly readyListeners = new Set<(ready: boolean) => void>();
  private readonly messageListeners = new Set<MessageListener>();
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private brokerReceiveMaximum: number | undefined;
  private outgoingStore: WithdrawingStore | undefined;
  /** Publishes and subscribes sent and not yet acknowledged, with when they were sent (for `link`). */
  private readonly awaitingAck = new Map<symbol, number>();
  private ackTimer: NodeJS.Timeout | undefined;
  private lastLink: LinkState = 'not-connected';
  private readonly linkListeners = new Set<(link: LinkState) => void>();
  /** Connection counters for `earshot status` and tests. */
  readonly stats = { connects: 0, disconnects: 0, errors: 0, lastError: null as string | null };

  constructor(private readonly opts: MqttConnectionOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'uplink.mqtt' });
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** The broker's Receive Maximum (how many unacknowledged QoS 1 publishes it accepts), once connected. */
  get receiveMaximum(): number | undefined {
    return this.brokerReceiveMaximum;
  }

  onReadyChange(listener: (ready: boolean) => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  /** 'not-acknowledging' once a publish or subscribe has waited longer than ackTimeoutMs. */
  get link(): LinkState {
    if (!this.client?.connected) return 'not-connected';
    const oldest = Math.min(...this.awaitingAck.values());
    return this.clock.now() - oldest >= this.ackTimeoutMs ? 'not-acknowledging' : 'connected';
  }

  onLinkChange(listener: (link: LinkState) => void): () => void {
    this.linkListeners.add(listener);
    return () => this.linkListeners.delete(listener);
  }

  private get ackTimeoutMs(): number {
    return this.opts.ackTimeoutMs ?? 10_000;
  }

  /** Re-evaluates `link`, tells listeners, and keeps one timer for the moment the oldest wait times out. */
  private updateLink(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const link = this.link;
    if (link === 'connected' && this.awaitingAck.size > 0) {
      const oldest = Math.min(...this.awaitingAck.values());
      this.ackTimer = setTimeout(() => this.updateLink(), Math.max(1, oldest + this.ackTimeoutMs - this.clock.now()));
      this.ackTimer.unref();
    }
    if (link === this.lastLink) return;
    this.lastLink = link;
    if (link === 'not-acknowledging') this.log.warn('broker is not acknowledging', { waitingMs: this.ackTimeoutMs, pending: this.awaitingAck.size });
    for (const l of this.linkListeners) l(link);
  }

  /** Tracks one acknowledgement wait for `link`; returns its end. */
  private awaitAck(): () => void {
    const key = Symbol('ack');
    this.awaitingAck.set(key, this.clock.now());
    this.updateLink();
    return () => {
      if (this.awaitingAck.delete(key)) this.updateLink();
    };
  }

  onMessage(listener: MessageListener): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  /** Starts connecting. Never fails because the broker is unreachable: it keeps retrying with backoff. */
  start(): void {
    if (this.client) return;
    this.stopping = false;
    const o = this.opts;
    this.outgoingStore = new WithdrawingStore((id) => this.client?.removeOutgoingMessage(id));
    const options: IClientOptions = {
      outgoingStore: this.outgoingStore,
      protocolVersion: o.protocolVersion ?? 5,
      clientId: o.deviceId,
      clean: false,
      keepalive: o.keepaliveSec,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      reconnectPeriod: 0,
      resubscribe: false,
      properties: (o.protocolVersion ?? 5) === 5 ? { sessionExpiryInterval: o.sessionExpirySec } : undefined,
      will: {
        topic: statusTopic(o.deviceId),
        payload: encodeStatus({ online: false, at: this.clock.now() }),
        qos: 1,
        retain: true,
      },
      ca: readPem('CA', o.caFile),
      cert: readPem('certificate', o.certFile),
      key: readPem('key', o.keyFile),
      rejectUnauthorized: true,
    };
    const client = connect(o.brokerUrl, options);
    this.client = client;
    client.on('connect', (connack) => void this.onConnect(connack));
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      this.stats.errors++;
      this.stats.lastError = errorMessage(err);
      this.log.warn('mqtt error', { error: errorMessage(err), code: reasonCodeOf(err) });
    });
    client.on('message', (topic, payload, packet) => {
      for (const l of this.messageListeners) {
        try {
          l(topic, payload, packet);
        } catch (e) {
          this.log.error('message listener failed', { topic, error: errorMessage(e) });
        }
      }
    });
  }

  private async onConnect(connack: IConnackPacket): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.reconnectAttempt = 0;
    this.stats.connects++;
    this.brokerReceiveMaximum = connack.properties?.receiveMaximum;
    this.log.info('connected', { sessionPresent: connack.sessionPresent, receiveMaximum: this.brokerReceiveMaximum });
    this.updateLink();
    const subs = this.opts.subscriptions ?? [];
    if (subs.length > 0) {
      const done = this.awaitAck();
      const subscribed = client.subscribeAsync(Object.fromEntries(subs.map((t) => [t, { qos: 1 as const, rh: 1 }]))).then(
        (granted) => {
          for (const g of granted) {
            if (g.qos >= 0x80) this.log.warn('subscription refused by broker', { topic: g.topic, reasonCode: g.qos });
          }
        },
        (e: unknown) => this.log.warn('subscribe failed', { error: errorMessage(e) }),
      );
      // Not awaited: uploads do not depend on the subscription, and a broker that never sends the SUBACK must
      // not hold them (or shutdown) back. The broker handles our packets in order either way.
      void subscribed.finally(done);
    }
    if (this.client !== client || !client.connected || this.stopping) return;
    // Its PUBACK is not waited for: an unanswered status must not block uploads.
    void this.publishStatus();
    this.setReady(true);
  }

  private onClose(): void {
    if (this.isReady) this.stats.disconnects++;
    this.setReady(false);
    this.awaitingAck.clear();
    this.updateLink();
    // Withdraw every unacknowledged recording from mqtt.js' store (see the file comment).
    for (const f of [...this.inFlight]) this.withdraw(f, 'connection-lost');
    if (!this.stopping) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stopping) return;
    const delay = backoffDelayMs(this.reconnectAttempt, { minMs: this.opts.reconnectMinMs, maxMs: this.opts.reconnectMaxMs }, this.random);
    this.reconnectAttempt++;
    this.log.info('reconnect scheduled', { inMs: delay, attempt: this.reconnectAttempt });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping && this.client && !this.client.connected) this.client.reconnect();
    }, delay);
  }

  private setReady(ready: boolean): void {
    if (this.isReady === ready) return;
    this.isReady = ready;
    for (const l of this.readyListeners) l(ready);
  }

  /** Publishes the retained online status (no-op while disconnected: it is sent again on every connect). */
  async publishStatus(): Promise<void> {
    const client = this.client;
    // After stop() began, only the offline status may be published.
    if (!client?.connected || this.stopping) return;
    let fields: DeviceStatusFields = {};
    try {
      fields = (await this.opts.statusFields?.()) ?? {};
    } catch (e) {
      this.log.warn('status fields unavailable', { error: errorMessage(e) });
    }
    if (this.client !== client || !client.connected || this.stopping) return;
    const done = this.awaitAck();
    try {
      await client.publishAsync(statusTopic(this.opts.deviceId), encodeStatus({ ...fields, online: true, at: this.clock.now() }), {
        qos: 1,
        retain: true,
      });
    } catch (e) {
      this.log.warn('status publish failed', { error: errorMessage(e), code: reasonCodeOf(e) });
    } finally {
      done();
    }
  }

  publishRecording(msg: RecordingMessage): PublishHandle {
    const client = this.client;
    if (!client || !this.isReady) {
      // Never hand a recording to mqtt.js while offline: it would be sent on reconnect without a gate check.
      return { result: Promise.resolve({ kind: 'failed', message: 'not connected' }), cancel: () => {} };
    }
    let settle!: (r: PublishResult) => void;
    const result = new Promise<PublishResult>((resolve) => {
      settle = resolve;
    });
    const doneWaiting = this.awaitAck();
    const entry: InFlight = {
      topic: msg.topic,
      messageId: undefined,
      cancelWhy: undefined,
      settle: (r) => {
        if (!this.inFlight.delete(entry)) return; // settled already
        doneWaiting();
        settle(r);
      },
      callback: (err?: Error, packet?: unknown) => {
        if (!err) {
          const rc = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
          entry.settle({ kind: 'acked', reasonCode: rc });
          return;
        }
        if (entry.cancelWhy) {
          entry.settle({ kind: 'cancelled', why: entry.cancelWhy });
          return;
        }
        const rc = reasonCodeOf(err);
        if (rc !== undefined && rc >= 0x80) entry.settle({ kind: 'refused', reasonCode: rc, message: errorMessage(err) });
        else entry.settle({ kind: 'failed', message: errorMessage(err) });
      },
    };
    this.inFlight.add(entry);
    this.outgoingStore?.forget(msg.topic); // a re-publish after an earlier withdrawal goes out
    client.publish(msg.topic, msg.payload, { qos: 1, retain: false, properties: msg.properties }, entry.callback);
    // mqtt.js registers the callback under the packet's message id synchronously when it can send now;
    // remembering the id lets a revocation remove exactly this packet from the outgoing store.
    for (const [id, pending] of Object.entries(client.outgoing)) {
      if (pending.cb === entry.callback) {
        entry.messageId = Number(id);
        break;
      }
    }
    return { result, cancel: () => this.withdraw(entry, 'purged') };
  }

  private withdraw(entry: InFlight, why: 'purged' | 'connection-lost'): void {
    if (!this.inFlight.has(entry) || entry.cancelWhy) return;
    entry.cancelWhy = why;
    const client = this.client;
    if (client && entry.messageId !== undefined && client.outgoing[entry.messageId]?.cb === entry.callback) {
      // Removes it from `outgoing` and the outgoing store; mqtt.js then calls our callback with "Message removed".
      client.removeOutgoingMessage(entry.messageId);
    } else {
      // Not stored by mqtt.js yet (queued inside the client): our store refuses it when mqtt.js gets to it.
      // The publisher only publishes when ready, after mqtt.js replayed its store, so this is a safety net.
      this.outgoingStore?.withdraw(entry.topic);
      entry.settle({ kind: 'cancelled', why });
    }
  }

  /** Unacknowledged recordings currently held by the client. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Message ids mqtt.js still holds in its outgoing map (exposed so tests can prove a purge emptied it). */
  outgoingMessageIds(): number[] {
    return this.client ? Object.keys(this.client.outgoing).map(Number) : [];
  }

  /**
   * Graceful stop, bounded by `stopTimeoutMs` (default 3 s): withdraws unacknowledged recordings (they stay in
   * the outbox), publishes a retained offline status (the will is not sent on a normal disconnect) and
   * disconnects. A broker that does not acknowledge within the budget gets its connection destroyed, so a
   * silent broker never keeps the process alive.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    if (!client) return;
    const budget = this.opts.stopTimeoutMs ?? 3000;
    for (const f of [...this.inFlight]) this.withdraw(f, 'connection-lost');
    this.setReady(false);
    if (client.connected) {
      try {
        await withTimeout(
          client.publishAsync(statusTopic(this.opts.deviceId), encodeStatus({ online: false, at: this.clock.now() }), { qos: 1, retain: true }),
          Math.round(budget / 2),
        );
      } catch (e) {
        this.log.warn('offline status not confirmed', { error: errorMessage(e) });
      }
    }
    // Unacknowledged packets (a status the broker never answered) would make a graceful end wait for them forever.
    for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    try {
      await withTimeout(client.endAsync(!client.connected), Math.round(budget / 2));
    } catch (e) {
      this.log.warn('broker did not let the connection close; destroying it', { error: errorMessage(e) });
      // A second end(true) would be ignored while the first end() is pending, so the socket is destroyed directly
      // (mqtt.js then finishes that end() itself); nothing the client emits after this is ours to handle.
      client.stream?.destroy();
      client.removeAllListeners();
    }
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.awaitingAck.clear();
    this.client = undefined;
    this.updateLink();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new EarshotError('UPLINK_UNAVAILABLE', `timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
