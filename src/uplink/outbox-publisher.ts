/**
 * Drains the outbox to the broker with a bounded in-flight window.
 *
 * Per entry: open the recording, then ask the consent gate and publish in the same synchronous step (no await
 * between the final gate answer and the hand-over to the MQTT client), so a withdrawal or local-only switch
 * recorded before the check is always seen. Outcomes:
 * - gate says local-only / uploads disabled → the entry stays queued and is looked at again later;
 * - gate says consent is missing → the entry leaves the outbox; for a withdrawn consent the whole owner is
 *   purged, including what the MQTT client still holds unacknowledged;
 * - PUBACK success → markUploaded (retention "delete after upload" acts here) and removal from the outbox;
 * - PUBACK reason >= 0x80 → stays queued, audited and logged, retried with backoff (never dropped);
 * - connection lost → stays queued, re-checked and re-published after the reconnect.
 */
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { errorMessage, isEarshotError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { AuditSink, OutboxRepo, RecordingReader, SettingsRepo, UploadBlockReason, UploadGate } from '../core/ports.js';
import type { OutboxEntry } from '../core/privacy-types.js';
import { type BackoffPolicy, backoffDelayMs } from './backoff.js';
import { DRAIN_PROGRESS_KEY, type DrainProgress, RateMeter } from './drain-progress.js';
import { recordingMessage } from './recording-message.js';
import type { PublishHandle, PublishResult, RecordingTransport } from './transport.js';

export interface OutboxPublisherOptions {
  deviceId: string;
  outbox: OutboxRepo;
  recordings: RecordingReader;
  gate: UploadGate;
  audit: AuditSink;
  transport: RecordingTransport & { readonly receiveMaximum?: number | undefined };
  /** Max unacknowledged publishes (config.uplink.maxInFlight); also capped by the broker's Receive Maximum. */
  maxInFlight: number;
  /** Backoff for entries the broker refused or that failed to publish. Default 2 s … 5 min. */
  retry?: BackoffPolicy;
  /** How often to look for new or retry-due entries and re-check held ones. Default 1000 ms. */
  pollMs?: number;
  /** Where drain progress is saved for `earshot status` (every `progressSaveMs`, default 2000). */
  settings?: SettingsRepo;
  progressSaveMs?: number;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
}

interface InFlightEntry {
  ownerId: string;
  handle: PublishHandle;
  result: Promise<void>;
}

const WITHDRAW_REASONS: ReadonlySet<UploadBlockReason> = new Set(['no-consent', 'consent-not-active-at-capture', 'unknown-owner']);

function hex(code: number): string {
  return '0x' + code.toString(16).padStart(2, '0');
}

export class OutboxPublisher {
  private running = false;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastProgressSave = 0;
  private readonly inFlight = new Map<string, InFlightEntry>();
  /** Entries held by local-only / uploads-disabled (recording id → owner id); they stay in the outbox. */
  private readonly held = new Map<string, string>();
  /**
   * Owners whose uploads are held. Local-only and uploads-disabled do not depend on the recording, so while an
   * owner is held one gate check per poll (with one of their entries) decides for all of them, instead of
   * re-checking a large backlog entry by entry.
   */
  private readonly heldOwners = new Map<string, { probe: { ownerId: string; capturedAt: number }; checkedAt: number }>();
  private recheckHeldNow = false;
  /** Bumped on every purge of an owner, so a pump step holding an older due-list skips that owner. */
  private readonly purgeEpoch = new Map<string, number>();
  private readonly rate = new RateMeter();
  private readonly counters = { published: 0, sent: 0, failed: 0, withdrawn: 0, queued: 0, lastError: null as string | null };
  private readonly o: Required<Pick<OutboxPublisherOptions, 'pollMs' | 'progressSaveMs'>> & OutboxPublisherOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly unsubscribe: () => void;

  constructor(opts: OutboxPublisherOptions) {
    this.o = { pollMs: 1000, progressSaveMs: 2000, ...opts };
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ component: 'uplink.publisher' });
    this.unsubscribe = opts.transport.onReadyChange((ready) => {
      if (ready) this.kick();
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.kick();
  }

  /** Something was enqueued (or consent/local-only changed): look at the outbox now rather than at the next poll. */
  notify(): void {
    this.recheckHeldNow = true;
    this.kick();
  }

  /** Ask the gate again for each held owner (once per poll interval, or at once after notify()). */
  private async recheckHeldOwners(now: number): Promise<void> {
    const force = this.recheckHeldNow;
    this.recheckHeldNow = false;
    for (const [ownerId, h] of this.heldOwners) {
      if (!force && now - h.checkedAt < this.o.pollMs) continue;
      const d = await this.o.gate.check(h.probe, now);
      if (!d.allowed && !WITHDRAW_REASONS.has(d.reason)) {
        h.checkedAt = now;
        continue;
      }
      // Released (or consent gone): its entries go through the full per-entry checks again.
      this.heldOwners.delete(ownerId);
      for (const [id, o] of this.held) if (o === ownerId) this.held.delete(id);
      this.log.info('uploads no longer held');
    }
  }

  /**
   * Stops publishing. Waits up to `graceMs` for unacknowledged publishes to be confirmed; whatever is not
   * confirmed stays in the outbox for the next start.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    await this.pumping;
    if (this.inFlight.size > 0) {
      const pending = Promise.all([...this.inFlight.values()].map((f) => f.result));
      await Promise.race([pending, new Promise((r) => setTimeout(r, graceMs))]);
    }
    this.unsubscribe();
    await this.saveProgress(true);
  }

  /**
   * Consent for this owner was withdrawn (call after the ledger records it): removes the owner's queued
   * entries and withdraws their unacknowledged publishes from the MQTT client's outgoing store, so nothing
   * of theirs is (re)sent after this resolves. Returns how many outbox entries were removed.
   */
  async purgeOwner(ownerId: string, by: 'owner-withdrawal' | 'consent-gate' = 'owner-withdrawal'): Promise<number> {
    this.purgeEpoch.set(ownerId, (this.purgeEpoch.get(ownerId) ?? 0) + 1);
    let cancelled = 0;
    for (const [id, f] of this.inFlight) {
      if (f.ownerId !== ownerId) continue;
      f.handle.cancel();
      this.inFlight.delete(id);
      cancelled++;
    }
    const removed = await this.o.outbox.removeOwner(ownerId);
    for (const [id, o] of this.held) if (o === ownerId) this.held.delete(id);
    this.heldOwners.delete(ownerId);
    this.counters.withdrawn += removed;
    this.log.info('owner purged from uplink', { removed, cancelledInFlight: cancelled, by });
    await this.o.audit.append({
      type: 'recording.upload-refused',
      ownerId,
      detail: { by, removedFromOutbox: removed, withdrawnFromClient: cancelled },
    });
    this.kick();
    return removed;
  }

  progress(): DrainProgress {
    const now = this.clock.now();
    return {
      queued: this.counters.queued,
      inFlight: this.inFlight.size,
      published: this.counters.published,
      sent: this.counters.sent,
      failed: this.counters.failed,
      held: this.held.size,
      withdrawn: this.counters.withdrawn,
      ratePerS: this.rate.perSecond(now),
      connected: this.o.transport.ready,
      lastError: this.counters.lastError,
      at: now,
    };
  }

  /** Resolves true once the outbox is empty and nothing is in flight, false on timeout. */
  async waitForDrain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.inFlight.size === 0 && (await this.o.outbox.count()) === 0) return true;
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private window(): number {
    const rm = this.o.transport.receiveMaximum;
    return Math.max(1, rm ? Math.min(this.o.maxInFlight, rm) : this.o.maxInFlight);
  }

  private kick(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.pumping = (async () => {
      try {
        do {
          this.pumpAgain = false;
          await this.fillWindow();
        } while (this.pumpAgain && this.running);
        await this.saveProgress(false);
      } catch (e) {
        this.counters.lastError = errorMessage(e);
        this.log.error('outbox drain step failed', { error: errorMessage(e) });
      } finally {
        this.pumping = undefined;
        if (this.running) {
          if (this.pumpAgain) this.kick();
          else this.pollTimer = setTimeout(() => this.kick(), this.o.pollMs);
        }
      }
    })();
  }

  private async fillWindow(): Promise<void> {
    while (this.running && this.o.transport.ready) {
      const room = this.window() - this.inFlight.size;
      if (room <= 0) return;
      // Refill in batches: one outbox query per few acknowledgements, not one per acknowledgement.
      if (this.inFlight.size > 0 && room < Math.min(8, Math.ceil(this.window() / 4))) return;
      const now = this.clock.now();
      await this.recheckHeldOwners(now);
      const epochs = new Map(this.purgeEpoch);
      // In-flight and held entries are still in the outbox; ask for enough to fill the room past them
      // (held entries count twice so a backlog of held entries is skipped in a few queries, not one per window).
      const due = await this.o.outbox.due(now, room + this.inFlight.size + 2 * this.held.size);
      const candidates = due.filter((e) => !this.inFlight.has(e.recordingId) && !this.held.has(e.recordingId));
      if (candidates.length === 0) return;
      // Every candidate ends published, held (excluded from the next batch), withdrawn or failed (not due
      // any more), so each round makes progress and the loop ends when nothing due is left.
      for (const e of candidates) {
        if (!this.running || !this.o.transport.ready || this.inFlight.size >= this.window()) break;
        if ((this.purgeEpoch.get(e.ownerId) ?? 0) !== (epochs.get(e.ownerId) ?? 0)) continue;
        if (this.heldOwners.has(e.ownerId)) {
          this.held.set(e.recordingId, e.ownerId);
          continue;
        }
        await this.publishOne(e, epochs);
      }
    }
  }

  /** Returns true if the entry was handed to the transport. */
  private async publishOne(e: OutboxEntry, epochs: Map<string, number>): Promise<boolean> {
    let rec;
    try {
      rec = await this.o.recordings.open(e.recordingId);
    } catch (err) {
      if (isEarshotError(err, 'UNKNOWN_RECORDING')) {
        // Deleted by its owner or by retention while queued: nothing left to send.
        await this.o.outbox.remove(e.recordingId);
        this.log.info('queued recording no longer exists; removed from outbox', { recordingId: e.recordingId });
      } else {
        await this.failed(e, `cannot open recording: ${errorMessage(err)}`);
      }
      return false;
    }
    const msg = recordingMessage(this.o.deviceId, rec);
    // The gate is asked after the recording is read and encoded: nothing awaits between its answer and the
    // hand-over to the client, so a decision recorded before this check is always honoured.
    const decision = await this.o.gate.check({ ownerId: e.ownerId, capturedAt: e.capturedAt }, this.clock.now());
    if (!decision.allowed) {
      await this.blocked(e, decision.reason);
      return false;
    }
    if (!this.running || !this.o.transport.ready) return false;
    if ((this.purgeEpoch.get(e.ownerId) ?? 0) !== (epochs.get(e.ownerId) ?? 0)) return false;
    const handle = this.o.transport.publishRecording(msg);
    this.counters.published++;
    const entry: InFlightEntry = {
      ownerId: e.ownerId,
      handle,
      result: handle.result.then(
        (r) => this.settled(e, entry, r),
        (err: unknown) => this.settled(e, entry, { kind: 'failed', message: errorMessage(err) }),
      ),
    };
    this.inFlight.set(e.recordingId, entry);
    return true;
  }

  private async blocked(e: OutboxEntry, reason: UploadBlockReason): Promise<void> {
    if (!WITHDRAW_REASONS.has(reason)) {
      // local-only or uploads disabled: keep it queued, look again after a poll interval.
      this.held.set(e.recordingId, e.ownerId);
      if (!this.heldOwners.has(e.ownerId)) {
        this.heldOwners.set(e.ownerId, { probe: { ownerId: e.ownerId, capturedAt: e.capturedAt }, checkedAt: this.clock.now() });
        this.log.info('uploads held', { reason });
      }
      return;
    }
    if (reason === 'no-consent' || reason === 'unknown-owner') {
      // Consent is gone for this owner: everything of theirs leaves the outbox, not just this entry.
      await this.purgeOwner(e.ownerId, 'consent-gate');
      return;
    }
    await this.o.outbox.remove(e.recordingId);
    this.counters.withdrawn++;
    await this.o.audit.append({
      type: 'recording.upload-refused',
      ownerId: e.ownerId,
      recordingId: e.recordingId,
      detail: { by: 'consent-gate', reason },
    });
  }

  private async settled(e: OutboxEntry, entry: InFlightEntry, r: PublishResult): Promise<void> {
    // A purge may already have dropped this entry (and the outbox row); then there is nothing to record.
    const mine = this.inFlight.get(e.recordingId) === entry;
    if (mine) this.inFlight.delete(e.recordingId);
    try {
      switch (r.kind) {
        case 'acked': {
          const now = this.clock.now();
          await this.o.recordings.markUploaded(e.recordingId, now);
          await this.o.outbox.remove(e.recordingId);
          this.counters.sent++;
          this.rate.mark(now);
          await this.o.audit.append({
            type: 'recording.uploaded',
            ownerId: e.ownerId,
            recordingId: e.recordingId,
            detail: { reasonCode: r.reasonCode },
          });
          break;
        }
        case 'refused': {
          const why = `broker refused publish: reason ${hex(r.reasonCode)} (${r.message})`;
          this.log.warn('publish refused by broker; kept queued', { recordingId: e.recordingId, reasonCode: hex(r.reasonCode) });
          await this.o.audit.append({
            type: 'recording.upload-refused',
            ownerId: e.ownerId,
            recordingId: e.recordingId,
            detail: { by: 'broker', reasonCode: r.reasonCode, attempts: e.attempts + 1 },
          });
          await this.failed(e, why);
          break;
        }
        case 'cancelled':
          // purged: the outbox row is gone already; connection-lost: it is still queued and due.
          break;
        case 'failed':
          if (mine && this.o.transport.ready) await this.failed(e, r.message);
          break;
      }
    } catch (err) {
      this.counters.lastError = errorMessage(err);
      this.log.error('recording outcome could not be stored', { recordingId: e.recordingId, outcome: r.kind, error: errorMessage(err) });
    }
    this.kick();
  }

  private async failed(e: OutboxEntry, why: string): Promise<void> {
    this.counters.failed++;
    this.counters.lastError = why;
    const delay = backoffDelayMs(e.attempts, this.o.retry ?? { minMs: 2000, maxMs: 300_000 }, this.o.random);
    await this.o.outbox.recordFailure(e.recordingId, why, this.clock.now() + delay);
  }

  private async saveProgress(force: boolean): Promise<void> {
    const settings = this.o.settings;
    if (!settings) return;
    const now = Date.now();
    if (!force && now - this.lastProgressSave < this.o.progressSaveMs) return;
    this.lastProgressSave = now;
    try {
      this.counters.queued = await this.o.outbox.count();
      await settings.set(DRAIN_PROGRESS_KEY, JSON.stringify(this.progress()));
    } catch (e) {
      this.log.warn('drain progress not saved', { error: errorMessage(e) });
    }
  }
}
