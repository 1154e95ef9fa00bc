/**
 * Fleet configuration as a service: restores the documents applied before (signatures re-checked) and applies
 * live ones from the broker; listeners get the new running configuration.
 */
import type { DeviceConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { FleetConfigReceiver, type FleetReceiveResult, type FleetState } from '../fleet/index.js';
import type { DaemonData } from './daemon-data.js';
import type { Service } from './service.js';

export class FleetService implements Service {
  readonly name = 'fleet';
  readonly receiver: FleetConfigReceiver;

  constructor(deps: {
    deviceId: string;
    config: DeviceConfig;
    ports: DaemonData['fleetPorts'];
    clock: Clock;
    logger: Logger;
    report: (r: FleetReceiveResult) => Promise<void>;
  }) {
    this.receiver = new FleetConfigReceiver({
      deviceId: deps.deviceId,
      deviceConfig: deps.config,
      settings: deps.ports.settings,
      audit: deps.ports.audit,
      clock: deps.clock,
      logger: deps.logger,
      baseline: deps.ports.baseline,
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
