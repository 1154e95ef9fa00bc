/** What every application operation runs with. One instance per process (daemon, CLI command, owner page). */
import type { Clock } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { AuditQueries, StoreMaintenance, UnitOfWork } from '../core/index.js';
import type { Purpose } from '../core/index.js';
import type { PrivacyPolicy } from '../privacy/index.js';

export interface AppDeps {
  uow: UnitOfWork;
  maintenance: StoreMaintenance;
  /** Reading the audit log back (appends happen inside units of work). */
  audit: AuditQueries;
  policy: PrivacyPolicy;
  clock: Clock;
  logger: Logger;
  deviceId: string;
  /** Creates a private (0700) directory for one export's staging; the export removes it. */
  exportStaging: { create(): Promise<string> };
  /** Privacy defaults for new owners (config.privacy). */
  defaults: { retentionDays: number; localOnly: boolean };
  /**
   * Told after a consent withdrawal committed, before the operation returns: the daemon drops what its MQTT
   * client still holds for the owner here.
   */
  onConsentWithdrawn?: (ownerId: string, purpose: Purpose) => Promise<void> | void;
  /**
   * The generic negative feature windows verifiers are trained against (default: the set shipped with the
   * default models, src/verifier's genericNegatives).
   */
  genericNegatives?: () => Promise<Float32Array[]>;
}

/** Who asked for an operation, recorded in its audit entry: 'owner-cli', 'owner-page', 'daemon', … Never 'fleet'. */
export interface Origin {
  source: string;
}
