/**
 * The uplink as a service: MQTT connection, outbox publisher and retained status. Its stop is bounded: a
 * broker that never acknowledges cannot hold the daemon (what was not acknowledged stays queued, never marked
 * sent).
 */
import type { DeviceConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { createUplink, type DeviceStatusFields, type DrainProgress, type Uplink } from '../uplink/index.js';
import type { DaemonData } from './daemon-data.js';
import { bounded, type Service } from './service.js';

/** Longest wait for the uplink to stop (offline status, disconnect). */
export const UPLINK_STOP_MS = 5_000;

export interface UplinkServiceDeps {
  config: DeviceConfig;
  data: DaemonData;
  statusFields: () => Promise<DeviceStatusFields>;
  onConfigMessage: (topic: string, payload: Buffer) => Promise<void>;
  logger: Logger;
  clock: Clock;
  protocolVersion?: 4 | 5;
}

export class UplinkService implements Service {
  readonly name = 'uplink';
  private uplink: Uplink | undefined;

  constructor(private readonly deps: UplinkServiceDeps) {}

  get enabled(): boolean {
    return this.deps.config.uplink.brokerUrl !== '';
  }

  async start(): Promise<void> {
    const { config, data, logger, clock } = this.deps;
    this.uplink = createUplink({
      config,
      ...data.uplinkPorts,
      logger,
      clock,
      ...(this.deps.protocolVersion ? { protocolVersion: this.deps.protocolVersion } : {}),
      statusFields: this.deps.statusFields,
      onConfigMessage: this.deps.onConfigMessage,
    });
    this.uplink?.start();
  }

  async stop(): Promise<void> {
    const u = this.uplink;
    if (!u) return;
    if ((await bounded(u.stop(), UPLINK_STOP_MS)) === 'timeout') {
      this.deps.logger.error('uplink did not stop in time (broker not acknowledging); unacknowledged uploads stay queued', { timeoutMs: UPLINK_STOP_MS });
    }
  }

  notify(): void {
    this.uplink?.notify();
  }

  async publishStatus(): Promise<void> {
    await this.uplink?.publishStatus();
  }

  /** Consent withdrawn: drop the owner's queued uploads and what the MQTT client still holds for them. */
  async purgeOwner(ownerId: string): Promise<number> {
    return this.uplink ? this.uplink.purgeOwner(ownerId) : 0;
  }

  /** Waits (bounded) for what was just queued to be sent: a replayed file's recordings before exit. */
  async waitForDrain(timeoutMs: number): Promise<boolean> {
    return this.uplink ? this.uplink.publisher.waitForDrain(timeoutMs) : true;
  }

  progress(): DrainProgress | undefined {
    return this.uplink?.progress();
  }
}
