/**
 * Fleet configuration as a service: restores the documents applied before (signatures re-checked) and applies
 * live ones from the broker; listeners get the new running configuration.
 */
import type { DeviceConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { FleetConfigReceiver, type FleetReceiveResult, type FleetState } from '../fleet/index.js';
import type { DaemonData } from './daemon-data.js';
import type { Service } from './service.js';

export class FleetService implements Service {
  readonly name = 'fleet';
  readonly receiver: FleetConfigReceiver;

  constructor(deps: { deviceId: string; config: DeviceConfig; data: () => DaemonData; clock: Clock; logger: Logger; report: (r: FleetReceiveResult) => Promise<void> }) {
    this.receiver = new FleetConfigReceiver({
      deviceId: deps.deviceId,
      deviceConfig: deps.config,
      // Resolved lazily: the data layer reads the receiver's privacy, the receiver writes through the data layer.
      settings: { get: (k) => deps.data().fleetPorts.settings.get(k), set: (k, v) => deps.data().fleetPorts.settings.set(k, v) },
      audit: { append: (e) => deps.data().fleetPorts.audit.append(e) },
      clock: deps.clock,
      logger: deps.logger,
      baseline: () => deps.data().fleetPorts.baseline(),
      report: deps.report,
    });
  }

  state(): FleetState {
    return this.receiver.state();
  }

  async start(): Promise<void> {
    await this.receiver.restore();
  }

  async stop(): Promise<void> {}

  receive(topic: string, payload: Buffer): Promise<void> {
    return this.receiver.receive(topic, payload).then(() => undefined);
  }

  onChange(listener: (s: FleetState) => void): void {
    this.receiver.onChange(listener);
  }
}
