/**
 * Drains the outbox to the broker with a bounded in-flight window.
 *
 * Driven by events, never by polling: a capture stored (`notify()`), a gate change (`notify()`), the connection
 * becoming ready, an acknowledgement, and one timer for the next retry that falls due (the outbox says when).
 * An idle daemon with an empty outbox therefore runs no outbox queries at all.
 *
 * Per entry: open the recording, then ask the consent gate and publish in the same synchronous step (no await
 * between the final gate answer and the hand-over to the MQTT client), so a withdrawal or local-only switch
 * recorded before the check is always seen. Outcomes:
 * - gate says local-only / uploads disabled → the entry stays queued and is looked at again on the next notify();
 * - gate says consent is missing → the entry leaves the outbox; for a withdrawn consent the whole owner is
 *   purged, including what the MQTT client still holds unacknowledged;
 * - PUBACK success → `recordings.markUploaded`, the single place that records an upload (it removes the outbox
 *   entry and writes the one `recording.uploaded` audit entry; retention "delete after upload" acts there);
 * - PUBACK reason >= 0x80 → stays queued, audited and logged, retried with backoff (never dropped);
 * - connection lost → stays queued, re-checked and re-published after the reconnect.
 *
 * Publish once: an entry stays in the in-flight set until its outcome is stored, so no pump can take its
 * outbox row again while the acknowledgement is being recorded (that gap published recordings twice).
 */
import { type BackoffPolicy, backoffDelayMs } from '../core/index.js';
import type { Clock } from '../core/index.js';
import { systemClock } from '../core/index.js';
import { errorMessage, isEarshotError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { silentLogger } from '../core/index.js';
import type { AuditSink, OutboxRepo, RecordingReader, SettingsRepo, UploadBlockReason, UploadGate } from '../core/index.js';
import type { OutboxEntry } from '../core/index.js';
import { DRAIN_PROGRESS_KEY, type DrainProgress, RateMeter } from './drain-progress.js';
import { recordingMessage } from './recording-message.js';
import type { LinkState, PublishHandle, PublishResult, RecordingTransport } from './transport.js';

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
  /**
   * Held entries (local-only, uploads disabled) are re-checked on every notify(); as a safety net for a missed
   * notification they are also re-checked this often while any are held. Default 30 s.
   */
  heldRecheckMs?: number;
  /** Where drain progress is saved for `earshot status`: after each change, at most every `progressSaveMs` (default 1000). */
  settings?: SettingsRepo;
  progressSaveMs?: number;
  /** Written into the saved progress so `earshot status` can tell a live daemon from a crashed one. Default process.pid. */
  pid?: number;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
}

interface InFlightEntry {
  ownerId: string;
  handle: PublishHandle;
  /** Resolves once the outcome is stored (or found not to need storing). */
  result: Promise<void>;
}

const WITHDRAW_REASONS: ReadonlySet<UploadBlockReason> = new Set(['no-consent', 'consent-not-active-at-capture', 'unknown-owner']);
const DEFAULT_RETRY: BackoffPolicy = { minMs: 2000, maxMs: 300_000 };
/** After a failed drain step (e.g. the store could not be read), the next attempt. */
const PUMP_ERROR_RETRY_MS = 5000;
/** setTimeout's limit is 2^31−1 ms; a later retry is re-planned when this shorter timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function hex(code: number): string {
  return '0x' + code.toString(16).padStart(2, '0');
}

export class OutboxPublisher {
  private running = false;
  private started = false;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  /** The one timer: fires when the next retry falls due (or the held safety re-check). */
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<string, InFlightEntry>();
  /** Ids whose outcome was stored while a due() query ran: its answer may still list them (see fillWindow). */
  private settledDuringQuery: Set<string> | undefined;
  /** Entries held by local-only / uploads-disabled (recording id → owner id); they stay in the outbox. */
  private readonly held = new Map<string, string>();
  /**
   * Owners whose uploads are held. Local-only and uploads-disabled do not depend on the recording, so while an
   * owner is held one gate check (with one of their entries) decides for all of them, instead of re-checking a
   * large backlog entry by entry.
   */
  private readonly heldOwners = new Map<string, { probe: { ownerId: string; capturedAt: number }; checkedAt: number }>();
  private recheckHeldNow = false;
  /** Bumped on every purge of an owner, so a pump step holding an older due-list skips that owner. */
  private readonly purgeEpoch = new Map<string, number>();
  private readonly rate = new RateMeter();
  private readonly counters = { published: 0, sent: 0, failed: 0, withdrawn: 0, queued: 0, lastError: null as string | null };
  private lastProgressSave = Number.NEGATIVE_INFINITY;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private readonly heldRecheckMs: number;
  private readonly progressSaveMs: number;
  private readonly retry: BackoffPolicy;
  private readonly clock: Clock;
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: OutboxPublisherOptions) {
    // `?? default` per field: an explicit `undefined` (e.g. `pollMs: deps.pollMs`) must not erase the default.
    this.heldRecheckMs = o.heldRecheckMs ?? 30_000;
    this.progressSaveMs = o.progressSaveMs ?? 1000;
    this.retry = o.retry ?? DEFAULT_RETRY;
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? silentLogger).child({ component: 'uplink.publisher' });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.started = true;
    const offReady = this.o.transport.onReadyChange((ready) => {
      this.changed();
      if (ready) this.kick();
      else this.clearWakeTimer(); // the reconnect kicks again
    });
    const offLink = this.o.transport.onLinkChange?.(() => this.changed());
    const offGate = this.o.gate.onChange?.(() => this.notify());
    this.unsubscribe = () => {
      offReady();
      offLink?.();
      offGate?.();
    };
    this.changed();
    this.kick();
  }

  /** Something was enqueued, or consent/local-only changed: look at the outbox now. */
  notify(): void {
    this.recheckHeldNow = true;
    this.kick();
  }

  /**
   * Stops publishing. Waits up to `graceMs` for unacknowledged publishes to be confirmed; whatever is not
   * confirmed stays in the outbox for the next start. Call `close()` after the connection is closed.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.running = false;
    this.clearWakeTimer();
    const waits: Promise<unknown>[] = [];
    if (this.pumping) waits.push(this.pumping);
    if (this.inFlight.size > 0) waits.push(...[...this.inFlight.values()].map((f) => f.result));
    if (waits.length > 0) await boundedWait(Promise.all(waits), graceMs);
  }

  /**
   * After the connection is closed: waits (bounded) for outcomes still being stored, detaches from the
   * transport and saves the final snapshot, marked stopped, with nothing in flight.
   */
  async close(graceMs = 500): Promise<void> {
    this.running = false;
    this.clearWakeTimer();
    const pending = [...this.inFlight.values()].map((f) => f.result);
    if (pending.length > 0) await boundedWait(Promise.all(pending), graceMs);
    // Whatever is still unconfirmed was withdrawn with the connection: it is queued, not in flight.
    this.inFlight.clear();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.started) await this.saveProgress();
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
    this.changed();
    this.kick();
    return removed;
  }

  progress(): DrainProgress {
    const now = this.clock.now();
    const link: LinkState = this.o.transport.link ?? (this.o.transport.ready ? 'connected' : 'not-connected');
    return {
      running: this.running,
      pid: this.o.pid ?? process.pid,
      queued: this.counters.queued,
      inFlight: this.inFlight.size,
      published: this.counters.published,
      sent: this.counters.sent,
      failed: this.counters.failed,
      held: this.held.size,
      withdrawn: this.counters.withdrawn,
      ratePerS: this.rate.perSecond(now),
      connected: link !== 'not-connected',
      link,
      lastError: this.counters.lastError,
      at: now,
    };
  }

  /** Resolves true once the outbox is empty and nothing is in flight, false on timeout. */
  async waitForDrain(timeoutMs: number): Promise<boolean> {
    const until = this.clock.now() + timeoutMs;
    for (;;) {
      if (this.inFlight.size === 0 && (await this.o.outbox.count()) === 0) return true;
      if (this.clock.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private window(): number {
    const rm = this.o.transport.receiveMaximum;
    return Math.max(1, rm ? Math.min(this.o.maxInFlight, rm) : this.o.maxInFlight);
  }

  /** The `now` of this pump's last outbox due() query (planWake continues from it; reset per pump). */
  private lastDueQueryAt: number | undefined;

  private clearWakeTimer(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  private kick(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.clearWakeTimer();
    this.pumping = (async () => {
      try {
        this.lastDueQueryAt = undefined;
        do {
          this.pumpAgain = false;
          await this.fillWindow();
        } while (this.pumpAgain && this.running);
        if (this.running && this.o.transport.ready) await this.planWake();
      } catch (e) {
        this.counters.lastError = errorMessage(e);
        this.log.error('outbox drain step failed; trying again shortly', { error: errorMessage(e), inMs: PUMP_ERROR_RETRY_MS });
        this.changed();
        // No poll would come back to it: the one timer does (a store error must not stall the uplink).
        this.clearWakeTimer();
        if (this.running) {
          this.wakeTimer = setTimeout(() => {
            this.wakeTimer = undefined;
            this.kick();
          }, PUMP_ERROR_RETRY_MS);
        }
      } finally {
        this.pumping = undefined;
        if (this.running && this.pumpAgain) this.kick();
      }
    })();
  }

  /** Arms the one timer: the next retry that falls due, or the held safety re-check, whichever is first. */
  private async planWake(): Promise<void> {
    // From the time of the last due() query, not from now: an entry that became due after that query (a short
    // backoff running out meanwhile) is not "after now" any more, and no timer would ever be armed for it.
    const now = this.lastDueQueryAt ?? this.clock.now();
    let at = await this.o.outbox.nextAttemptAfter(now);
    for (const h of this.heldOwners.values()) {
      const recheck = h.checkedAt + this.heldRecheckMs;
      if (at === undefined || recheck < at) at = recheck;
    }
    this.clearWakeTimer();
    if (at === undefined || !this.running) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(1, at - this.clock.now()));
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.kick();
    }, delay);
  }

  /** Ask the gate again for each held owner (after notify(), or once the safety re-check interval passed). */
  private async recheckHeldOwners(now: number): Promise<void> {
    const force = this.recheckHeldNow;
    this.recheckHeldNow = false;
    for (const [ownerId, h] of this.heldOwners) {
      if (!force && now - h.checkedAt < this.heldRecheckMs) continue;
      const d = await this.o.gate.check(h.probe, now);
      if (!d.allowed && !WITHDRAW_REASONS.has(d.reason)) {
        h.checkedAt = now;
        continue;
      }
      // Released (or consent gone): its entries go through the full per-entry checks again.
      this.heldOwners.delete(ownerId);
      for (const [id, o] of this.held) if (o === ownerId) this.held.delete(id);
      this.changed();
      this.log.info('uploads no longer held');
    }
  }

  private async fillWindow(): Promise<void> {
    while (this.running && this.o.transport.ready) {
      const room = this.window() - this.inFlight.size;
      if (room <= 0) return;
      // Refill in batches: one outbox query per few acknowledgements, not one per acknowledgement.
      if (this.inFlight.size > 0 && room < Math.min(8, Math.ceil(this.window() / 4))) return;
      const now = this.clock.now();
      this.lastDueQueryAt = now;
      await this.recheckHeldOwners(now);
      const epochs = new Map(this.purgeEpoch);
      // In-flight and held entries are still in the outbox; ask for enough to fill the room past them
      // (held entries count twice so a backlog of held entries is skipped in a few queries, not one per window).
      // An entry acknowledged while the query ran may still be in its answer (read before the upload was
      // recorded): it is excluded too, so a recording is never taken twice.
      const settled = new Set<string>();
      this.settledDuringQuery = settled;
      let due: OutboxEntry[];
      try {
        due = await this.o.outbox.due(now, room + this.inFlight.size + 2 * this.held.size);
      } finally {
        this.settledDuringQuery = undefined;
      }
      const candidates = due.filter((e) => !this.inFlight.has(e.recordingId) && !this.held.has(e.recordingId) && !settled.has(e.recordingId));
      // What settled during the query was left out of this answer; its outcome is stored now, so the pump looks
      // again (a refusal with a short backoff can already be due, and no timer would be armed for it).
      if (settled.size > 0) this.pumpAgain = true;
      if (candidates.length === 0) return;
      // Every candidate ends published, held (excluded from the next batch), withdrawn or failed (not due
      // any more), so each round makes progress and the loop ends when nothing due is left.
      for (const e of candidates) {
        if (!this.running || !this.o.transport.ready || this.inFlight.size >= this.window()) break;
        if ((this.purgeEpoch.get(e.ownerId) ?? 0) !== (epochs.get(e.ownerId) ?? 0)) continue;
        if (this.inFlight.has(e.recordingId)) continue;
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
    // hand-over to the client, so a decision recorded before this check is always honoured. It is asked about the
    // owner and capture time the recording's sealed data names, never the queue row's plain columns.
    const decision = await this.o.gate.check({ ownerId: rec.ownerId, capturedAt: rec.startedAt }, this.clock.now());
    if (!decision.allowed) {
      await this.blocked(e, decision.reason);
      return false;
    }
    if (!this.running || !this.o.transport.ready || this.inFlight.has(e.recordingId)) return false;
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
    this.changed();
    return true;
  }

  private async blocked(e: OutboxEntry, reason: UploadBlockReason): Promise<void> {
    this.changed();
    if (!WITHDRAW_REASONS.has(reason)) {
      // local-only or uploads disabled: keep it queued, look again on the next notify().
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
    // A purge may already have dropped this entry (and the outbox row); then there is nothing to re-queue.
    const mine = this.inFlight.get(e.recordingId) === entry;
    try {
      switch (r.kind) {
        case 'acked': {
          // The broker has it (also after a purge: bytes already on the wire cannot be recalled), so it is
          // recorded, once, by the store: uploaded_at, outbox row removed, the `recording.uploaded` audit entry.
          const now = this.clock.now();
          await this.o.recordings.markUploaded(e.recordingId, now);
          this.counters.sent++;
          this.rate.mark(now);
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
          if (mine) await this.failed(e, why);
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
      if (isEarshotError(err, 'UNKNOWN_RECORDING')) {
        // Deleted (by its owner or retention) while the publish was in flight: the broker has it, the device does not.
        await this.o.outbox.remove(e.recordingId).catch(() => undefined);
        this.log.info('recording deleted while its upload was in flight', { recordingId: e.recordingId });
      } else {
        this.counters.lastError = errorMessage(err);
        this.log.error('recording outcome could not be stored', { recordingId: e.recordingId, outcome: r.kind, error: errorMessage(err) });
      }
    } finally {
      // Only now, with the outcome stored, may a pump look at this outbox row again.
      if (this.inFlight.get(e.recordingId) === entry) this.inFlight.delete(e.recordingId);
      this.settledDuringQuery?.add(e.recordingId);
    }
    this.changed();
    this.kick();
  }

  private async failed(e: OutboxEntry, why: string): Promise<void> {
    this.changed();
    this.counters.failed++;
    this.counters.lastError = why;
    const delay = backoffDelayMs(e.attempts, this.retry, this.o.random);
    await this.o.outbox.recordFailure(e.recordingId, why, this.clock.now() + delay);
  }

  /**
   * Something `earshot status` shows changed: save the snapshot now, or at the end of the current save
   * interval (trailing edge, so the last change is always written and the snapshot never goes stale).
   */
  private changed(): void {
    if (!this.o.settings || !this.running || this.saveTimer) return;
    const wait = this.lastProgressSave + this.progressSaveMs - this.clock.now();
    this.saveTimer = setTimeout(
      () => {
        this.saveTimer = undefined;
        if (this.running) void this.saveProgress();
      },
      Math.max(0, wait),
    );
  }

  private async saveProgress(): Promise<void> {
    const settings = this.o.settings;
    if (!settings) return;
    // One save at a time, so an older snapshot can never overwrite a newer one.
    const previous = this.saving;
    const next = (async () => {
      await previous;
      this.lastProgressSave = this.clock.now();
      try {
        this.counters.queued = await this.o.outbox.count();
        await settings.set(DRAIN_PROGRESS_KEY, JSON.stringify(this.progress()));
      } catch (e) {
        this.log.warn('drain progress not saved', { error: errorMessage(e) });
      }
    })();
    this.saving = next;
    await next;
    if (this.saving === next) this.saving = undefined;
  }
}

/** Waits for `p` at most `ms`; never rejects (the caller goes on either way). */
async function boundedWait(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  if (timer) clearTimeout(timer);
}
