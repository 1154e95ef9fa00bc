/**
 * Receives retained fleet config documents from MQTT and applies the ones that pass every check.
 * I/O is injected (SettingsRepo for the counter, AuditSink, a reporter for the status topic, change
 * listeners for live settings), so the whole flow is tested without a broker or a database.
 * A refused document never changes the running configuration.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { systemClock, type Clock } from '../core/index.js';
import { errorMessage } from '../core/index.js';
import { silentLogger, type Logger } from '../core/index.js';
import type { AuditSink, SettingsRepo } from '../core/index.js';
import type { DeviceConfig } from '../config/index.js';
import { semanticProblems } from '../config/index.js';
import { readAppliedFleetState, saveFleetRecord, type StoredFleetRecord } from './applied-store.js';
import { verifyFleetDocument } from './document.js';
import { loadFleetPublicKey } from './keys.js';
import { captureBaselineOf } from './capture-rules.js';
import { mergeFleetPrivacy, privacyBaseline } from '../privacy/index.js';
import { effectiveDeviceConfig, orderDocuments } from './merge.js';
import { targetForTopic, targetsForDevice } from './target.js';
import type { AppliedFleetDocument, FleetPrivacy, FleetRefusalReason, FleetTarget, PrivacyBaseline } from './types.js';

export interface FleetReceiveResult {
  /** 'unchanged': the very document already applied was delivered again (retained redelivery), or an empty payload. */
  status: 'applied' | 'refused' | 'unchanged';
  topic: string;
  target: FleetTarget | null;
  version: number | null;
  reason?: FleetRefusalReason;
  /** Human-readable cause of a refusal; never contains personal data or key material. */
  detail?: string;
  /** Epoch ms. */
  at: number;
}

export interface FleetState {
  /** Applied documents in layering order (fleet, groups, device). */
  documents: readonly AppliedFleetDocument[];
  /** Strictest privacy of all applied documents. */
  privacy: FleetPrivacy;
  /** The device config with the fleet's settings applied: what the daemon should run with. */
  config: DeviceConfig;
  /** Last applied version per target. */
  versions: Readonly<Partial<Record<FleetTarget, number>>>;
}

export interface FleetReceiverOptions {
  deviceId: string;
  /** The device config as loaded (its fleet.publicKeys are the pinned keys, device.groups the groups). */
  deviceConfig: DeviceConfig;
  settings: SettingsRepo;
  audit: AuditSink;
  clock?: Clock;
  /**
   * Owner choices over device defaults without fleet (for the active owner). Default: the device config's
   * privacy. Its `capture` (wake/capture settings a document may only make less eager) defaults to deviceConfig's.
   */
  baseline?: () => Promise<PrivacyBaseline>;
  /** Called with every applied or refused result (the daemon publishes it on the retained status topic). */
  report?: (result: FleetReceiveResult) => void | Promise<void>;
  logger?: Logger;
}

export type FleetChangeListener = (state: FleetState) => void;

export class FleetConfigReceiver {
  private readonly opts: FleetReceiverOptions;
  private readonly keys: KeyObject[];
  private readonly groups: readonly string[];
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly listeners = new Set<FleetChangeListener>();
  private records = new Map<FleetTarget, StoredFleetRecord>();
  /** Per topic, the SHA-256 of the last refused payload (in memory: after a restart it is reported again). */
  private readonly lastRefused = new Map<string, string>();
  private documents = new Map<FleetTarget, AppliedFleetDocument>();
  private restored: Promise<FleetState> | undefined;
  /** Documents are handled one at a time so two deliveries cannot race the counter. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: FleetReceiverOptions) {
    this.opts = opts;
    this.keys = opts.deviceConfig.fleet.publicKeys.map(loadFleetPublicKey);
    this.groups = opts.deviceConfig.device.groups;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ component: 'fleet' });
  }

  /** Listen for changes of the running configuration; returns an unsubscribe function. */
  onChange(listener: FleetChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Load counters and re-apply the documents applied before a restart. Idempotent; receive() calls it first. */
  restore(): Promise<FleetState> {
    this.restored ??= (async () => {
      const state = await readAppliedFleetState(this.opts.settings, this.opts.deviceId, this.groups, this.keys);
      this.records = state.records;
      this.documents = new Map(state.documents.map((d) => [d.target, d]));
      for (const d of state.dropped) this.log.warn('stored fleet document no longer verifies; not applied', { ...d });
      const current = this.state();
      const problems = semanticProblems(current.config);
      if (problems.length > 0) this.log.warn('fleet settings conflict with the device config', { problems: problems.join('; ') });
      this.emit(current);
      return current;
    })();
    return this.restored;
  }

  state(): FleetState {
    const order = targetsForDevice(this.opts.deviceId, this.groups);
    const documents = orderDocuments([...this.documents.values()], order);
    const versions: Partial<Record<FleetTarget, number>> = {};
    for (const [t, r] of this.records) versions[t] = r.version;
    return {
      documents,
      privacy: mergeFleetPrivacy(documents.map((d) => d.config.privacy)),
      config: effectiveDeviceConfig(this.opts.deviceConfig, documents),
      versions,
    };
  }

  receive(topic: string, payload: Buffer | Uint8Array | string): Promise<FleetReceiveResult> {
    const next = this.queue.then(async () => {
      const result = await this.receiveNow(topic, payload);
      if (result.status === 'refused') this.lastRefused.set(topic, digestOf(payload));
      else if (result.status === 'applied') this.lastRefused.delete(topic);
      return result;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async receiveNow(topic: string, payload: Buffer | Uint8Array | string): Promise<FleetReceiveResult> {
    await this.restore();
    const at = this.clock.now();
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const topicTarget = targetForTopic(topic);
    if (topicTarget === undefined) {
      return this.finish({ status: 'refused', topic, target: null, version: null, reason: 'topic-mismatch', detail: 'not a fleet config topic', at });
    }
    if (bytes.length === 0) {
      // Clearing a retained message delivers an empty payload: nothing to apply, nothing to refuse.
      return this.finish({ status: 'unchanged', topic, target: topicTarget, version: null, detail: 'empty payload', at });
    }
    const stored = this.records.get(topicTarget);
    if (stored !== undefined && this.documents.has(topicTarget) && Buffer.from(stored.document, 'utf8').equals(bytes)) {
      return this.finish({ status: 'unchanged', topic, target: topicTarget, version: stored.version, detail: 'already applied', at });
    }

    // The same refused bytes delivered again on the same topic (a broker re-sending a retained message,
    // a resubscription) are reported and audited once per process, not once per delivery.
    if (this.lastRefused.get(topic) === digestOf(bytes)) {
      return this.finish({ status: 'unchanged', topic, target: topicTarget, version: null, detail: 'already refused', at });
    }

    const owner = this.opts.baseline ? await this.opts.baseline() : privacyBaseline(undefined, this.opts.deviceConfig.privacy);
    // Capture may only become less eager than this device's own settings (the config as loaded, without fleet).
    const baseline = { capture: captureBaselineOf(this.opts.deviceConfig), ...owner };
    const verdict = verifyFleetDocument(bytes, {
      publicKeys: this.keys,
      deviceId: this.opts.deviceId,
      groups: this.groups,
      now: at,
      lastAppliedVersion: (t) => this.records.get(t)?.version,
      baseline,
      topicTarget,
    });
    if (!verdict.ok) {
      return this.finish({
        status: 'refused',
        topic,
        target: verdict.target ?? topicTarget,
        version: verdict.version ?? null,
        reason: verdict.reason,
        detail: verdict.detail,
        at,
      });
    }
    const doc = verdict.document;
    // The fleet's settings must still make sense together with this device's own config.
    const candidate = new Map(this.documents);
    candidate.set(doc.target, doc);
    const order = targetsForDevice(this.opts.deviceId, this.groups);
    const problems = semanticProblems(effectiveDeviceConfig(this.opts.deviceConfig, orderDocuments([...candidate.values()], order)));
    if (problems.length > 0) {
      return this.finish({
        status: 'refused',
        topic,
        target: doc.target,
        version: doc.version,
        reason: 'bad-schema',
        detail: `conflicts with this device's config: ${problems.join('; ')}`,
        at,
      });
    }
    const record: StoredFleetRecord = {
      version: doc.version,
      digest: doc.digest,
      // Verification decoded these bytes as strict UTF-8, so the text round-trips exactly.
      document: bytes.toString('utf8'),
      appliedAt: at,
    };
    // Persist first: a document whose counter could not be saved must not run (it could be replayed after a restart).
    await saveFleetRecord(this.opts.settings, doc.target, record);
    this.records.set(doc.target, record);
    this.documents = candidate;
    this.emit(this.state());
    return this.finish({ status: 'applied', topic, target: doc.target, version: doc.version, at }, doc);
  }

  private emit(state: FleetState): void {
    for (const l of this.listeners) {
      try {
        l(state);
      } catch (e) {
        this.log.error('fleet change listener failed', { error: errorMessage(e) });
      }
    }
  }

  private async finish(result: FleetReceiveResult, doc?: AppliedFleetDocument): Promise<FleetReceiveResult> {
    if (result.status === 'unchanged') {
      this.log.debug('fleet document unchanged', { topic: result.topic, detail: result.detail });
      return result;
    }
    if (result.status === 'applied') {
      this.log.info('fleet config applied', { target: result.target, version: result.version });
      await this.opts.audit.append({
        type: 'config.applied',
        detail: { target: result.target, version: result.version, keyId: doc?.keyId ?? null, digest: doc?.digest ?? null },
      });
    } else {
      this.log.warn('fleet config refused', { target: result.target, version: result.version, reason: result.reason, detail: result.detail });
      await this.opts.audit.append({
        type: 'config.refused',
        detail: { target: result.target, version: result.version, reason: result.reason ?? null, detail: result.detail ?? null, topic: result.topic },
      });
    }
    if (this.opts.report) await this.opts.report(result);
    return result;
  }
}

function digestOf(payload: Buffer | Uint8Array | string): string {
  return createHash('sha256').update(payload).digest('hex');
}
