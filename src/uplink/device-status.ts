/**
 * The retained status document on earshot/v1/devices/{deviceId}/status. Non-personal by construction:
 * only booleans, counts, versions and reason codes — never an owner id, name or audio.
 */
export interface FleetConfigReport {
  result: 'applied' | 'refused';
  /** Target the document claimed, e.g. "fleet", "group:kitchen", "device:spk-1". */
  target?: string;
  version?: number;
  /** Machine-readable refusal reason (e.g. "bad-signature", "replayed-version"). */
  reason?: string;
  at: number;
}

export interface DeviceStatus {
  online: boolean;
  /** Local-only mode in effect (owner choice or forced by fleet). */
  localOnly?: boolean;
  uploadsEnabled?: boolean;
  /** Version of the last applied fleet config document, per target. */
  configVersions?: Record<string, number>;
  /** The most recent fleet document outcome (applied or refused). */
  lastConfig?: FleetConfigReport;
  outboxDepth?: number;
  /** The audit log's head (entry number and hash; nothing personal): a fleet notices a log that went backwards. */
  auditHead?: { seq: number; hash: string };
  /** Epoch ms when this status was produced. */
  at: number;
}

/** Everything except `online`/`at` comes from the daemon's current state. */
export type DeviceStatusFields = Omit<DeviceStatus, 'online' | 'at'>;

export function encodeStatus(status: DeviceStatus): Buffer {
  return Buffer.from(JSON.stringify(status), 'utf8');
}
