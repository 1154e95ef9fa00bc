/**
 * The uplink as the daemon sees it: one MQTT connection, the outbox publisher on top of it, the retained
 * status document, and the subscription to this device's and its groups' fleet config topics.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { AuditSink, OutboxRepo, RecordingReader, SettingsRepo, UploadGate } from '../core/ports.js';
import type { DeviceConfig } from '../config/types.js';
import type { BackoffPolicy } from './backoff.js';
import type { DeviceStatusFields } from './device-status.js';
import type { DrainProgress } from './drain-progress.js';
import { MqttConnection } from './mqtt-connection.js';
import { OutboxPublisher } from './outbox-publisher.js';
import { deviceConfigTopic, fleetConfigTopic } from './topics.js';

/** Fleet-wide documents (target "fleet") are published under this group name. */
export const FLEET_WIDE_GROUP = 'all';

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
  /** Retry policy for refused publishes (default 2 s … 5 min) and poll interval (default 1 s). */
  retry?: BackoffPolicy;
  pollMs?: number;
  /** 4 only for the aedes demo broker (no MQTT 5); default 5. */
  protocolVersion?: 4 | 5;
  /** Re-publish the retained status this often so its outbox depth stays current. Default 60 s; 0 = never. */
  statusIntervalMs?: number;
}

/** Topics a device subscribes to for fleet configuration. */
export function configTopicsFor(device: { id: string; groups: string[] }): string[] {
  const groups = new Set([FLEET_WIDE_GROUP, ...device.groups]);
  return [deviceConfigTopic(device.id), ...[...groups].map(fleetConfigTopic)];
}

export class Uplink {
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
      retry: deps.retry,
      pollMs: deps.pollMs,
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

  /** Stops draining (unconfirmed entries stay queued), publishes the offline status and disconnects. */
  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
    await this.publisher.stop();
    await this.connection.stop();
  }

  /** A recording was enqueued: try to send it now instead of at the next poll. */
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
