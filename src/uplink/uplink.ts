/**
 * The uplink as the daemon sees it: one MQTT connection, the outbox publisher on top of it, the retained
 * status document, and the subscription to this device's and its groups' fleet config topics.
 */
import type { Clock } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { silentLogger } from '../core/index.js';
import type { AuditSink, OutboxRepo, RecordingReader, SettingsRepo, UploadGate, UploadTrigger } from '../core/index.js';
import type { DeviceConfig } from '../config/index.js';
import type { BackoffPolicy } from '../core/index.js';
import type { DeviceStatusFields } from './device-status.js';
import type { DrainProgress } from './drain-progress.js';
import { MqttConnection } from './mqtt-connection.js';
import { OutboxPublisher } from './outbox-publisher.js';
import { configTopicsFor } from '../core/index.js';

export interface UplinkDeps {
  config: Pick<DeviceConfig, 'device' | 'uplink'>;
  outbox: OutboxRepo;
  recordings: RecordingReader;
  gate: UploadGate;
  audit: AuditSink;
  /** Drain progress is saved here for `earshot status`. */
  settings?: SettingsRepo;
  /** Non-personal state for the retained status topic (local-only, config versions, last fleet result). */
  statusFields?: () => Promise<DeviceStatusFields> | DeviceStatusFields;
  /** A retained fleet config document arrived (device or group topic). */
  onConfigMessage?: (topic: string, payload: Buffer) => void | Promise<void>;
  logger?: Logger;
  clock?: Clock;
  /** Retry policy for refused publishes (default 2 s … 5 min). There is no poll interval: the outbox is event-driven. */
  retry?: BackoffPolicy;
  /** Safety re-check of uploads held by local-only / uploads-disabled (default 30 s; notify() re-checks at once). */
  heldRecheckMs?: number;
  /** A publish unacknowledged this long makes status say "not acknowledging" (default 10 s). */
  ackTimeoutMs?: number;
  /** 4 only for the aedes demo broker (no MQTT 5); default 5. */
  protocolVersion?: 4 | 5;
  /** Re-publish the retained status this often so its outbox depth stays current. Default 60 s; 0 = never. */
  statusIntervalMs?: number;
}

/** Everything Uplink.stop() may take (issue 10 §3: every wait at shutdown is bounded). */
export const STOP_BUDGET_MS = 5000;
const PUBLISHER_GRACE_MS = 2000;
const CONNECTION_STOP_MS = 2500;
const CLOSE_GRACE_MS = STOP_BUDGET_MS - PUBLISHER_GRACE_MS - CONNECTION_STOP_MS;

export class Uplink implements UploadTrigger {
  readonly connection: MqttConnection;
  readonly publisher: OutboxPublisher;
  private readonly log: Logger;
  private statusTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: UplinkDeps) {
    const { device, uplink } = deps.config;
    this.log = (deps.logger ?? silentLogger).child({ component: 'uplink' });
    const outboxDepth = async (): Promise<DeviceStatusFields> => {
      const extra = (await deps.statusFields?.()) ?? {};
      return { ...extra, outboxDepth: await deps.outbox.count() };
    };
    this.connection = new MqttConnection({
      brokerUrl: uplink.brokerUrl,
      deviceId: device.id,
      protocolVersion: deps.protocolVersion,
      caFile: uplink.caFile,
      certFile: uplink.certFile,
      keyFile: uplink.keyFile,
      sessionExpirySec: uplink.sessionExpirySec,
      keepaliveSec: uplink.keepaliveSec,
      reconnectMinMs: uplink.reconnectMinMs,
      reconnectMaxMs: uplink.reconnectMaxMs,
      subscriptions: deps.onConfigMessage ? configTopicsFor(device) : [],
      ...(deps.ackTimeoutMs !== undefined ? { ackTimeoutMs: deps.ackTimeoutMs } : {}),
      stopTimeoutMs: CONNECTION_STOP_MS,
      statusFields: outboxDepth,
      logger: deps.logger,
      clock: deps.clock,
    });
    if (deps.onConfigMessage) {
      const handler = deps.onConfigMessage;
      this.connection.onMessage((topic, payload) => {
        Promise.resolve(handler(topic, payload)).catch((e: unknown) => this.log.error('config message handler failed', { topic, error: String(e) }));
      });
    }
    this.publisher = new OutboxPublisher({
      deviceId: device.id,
      outbox: deps.outbox,
      recordings: deps.recordings,
      gate: deps.gate,
      audit: deps.audit,
      transport: this.connection,
      maxInFlight: uplink.maxInFlight,
      settings: deps.settings,
      logger: deps.logger,
      clock: deps.clock,
      ...(deps.retry ? { retry: deps.retry } : {}),
      ...(deps.heldRecheckMs !== undefined ? { heldRecheckMs: deps.heldRecheckMs } : {}),
    });
  }

  /** Connects (retrying in the background; never blocks on the broker) and starts draining. */
  start(): void {
    this.connection.start();
    this.publisher.start();
    const every = this.deps.statusIntervalMs ?? 60_000;
    if (every > 0 && !this.statusTimer) {
      this.statusTimer = setInterval(() => void this.connection.publishStatus(), every);
      this.statusTimer.unref();
    }
  }

  /**
   * Stops draining (unconfirmed entries stay queued), publishes the offline status and disconnects, within
   * STOP_BUDGET_MS whatever the broker does: 2 s for acknowledgements still on their way, 2.5 s for the
   * offline status and DISCONNECT (then the socket is destroyed), 0.5 s to store outcomes and the final status
   * snapshot. Nothing that was not acknowledged is marked sent.
   */
  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
    await this.publisher.stop(PUBLISHER_GRACE_MS);
    await this.connection.stop();
    await this.publisher.close(CLOSE_GRACE_MS);
  }

  /** A recording was enqueued, or consent / local-only / uploads-enabled changed: look at the outbox now. */
  notify(): void {
    this.publisher.notify();
  }

  /** Consent withdrawn (after the ledger recorded it): drop the owner's queued and unacknowledged uploads. */
  purgeOwner(ownerId: string): Promise<number> {
    return this.publisher.purgeOwner(ownerId);
  }

  /** Re-publish the retained status (after local-only changed or a fleet document was applied/refused). */
  publishStatus(): Promise<void> {
    return this.connection.publishStatus();
  }

  progress(): DrainProgress {
    return this.publisher.progress();
  }
}

/** The uplink for this config, or undefined when `uplink.brokerUrl` is empty (uplink disabled). */
export function createUplink(deps: UplinkDeps): Uplink | undefined {
  if (!deps.config.uplink.brokerUrl) return undefined;
  return new Uplink(deps);
}
