/**
 * Small in-memory implementations of the ports the uplink uses (src/core/ports.ts), for the uplink's tests and
 * the uplink benchmark (which runs from dist/, so they live in src/). Not used by the daemon.
 */
import { EarshotError } from '../../core/index.js';
import type { OutboxRepo, RecordingReader, SettingsRepo, UploadDecision, UploadGate } from '../../core/index.js';
import type { AuditEventInput, AuditSink, OutboxEntry } from '../../core/index.js';
import type { Recording } from '../../core/index.js';

export class MemoryOutbox implements OutboxRepo {
  readonly rows = new Map<string, OutboxEntry>();
  async enqueue(e: { recordingId: string; ownerId: string; capturedAt: number; enqueuedAt: number }): Promise<void> {
    if (this.rows.has(e.recordingId)) return; // idempotent, like the SQLite outbox
    this.rows.set(e.recordingId, { ...e, attempts: 0, nextAttemptAt: e.enqueuedAt, lastError: null });
  }
  async due(now: number, limit: number): Promise<OutboxEntry[]> {
    return [...this.rows.values()]
      .filter((r) => r.nextAttemptAt <= now)
      .sort((a, b) => a.capturedAt - b.capturedAt || a.recordingId.localeCompare(b.recordingId))
      .slice(0, limit);
  }
  async nextAttemptAfter(now: number): Promise<number | undefined> {
    let t: number | undefined;
    for (const r of this.rows.values()) if (r.nextAttemptAt > now && (t === undefined || r.nextAttemptAt < t)) t = r.nextAttemptAt;
    return t;
  }
  async entry(recordingId: string): Promise<OutboxEntry | undefined> {
    return this.rows.get(recordingId);
  }
  async recordFailure(recordingId: string, error: string, nextAttemptAt: number): Promise<void> {
    const r = this.rows.get(recordingId);
    if (r) this.rows.set(recordingId, { ...r, attempts: r.attempts + 1, lastError: error, nextAttemptAt });
  }
  async remove(recordingId: string): Promise<void> {
    this.rows.delete(recordingId);
  }
  async removeOwner(ownerId: string): Promise<number> {
    let n = 0;
    for (const [id, r] of this.rows) {
      if (r.ownerId === ownerId) {
        this.rows.delete(id);
        n++;
      }
    }
    return n;
  }
  async count(): Promise<number> {
    return this.rows.size;
  }
}

/**
 * Recordings, with markUploaded behaving like the SQLite store's: the one place an upload is recorded (outbox
 * entry removed, one `recording.uploaded` audit entry, retention 0 applied), so a publisher that audited or
 * removed on its own would show up in the in-memory tests as a second entry.
 */
export class MemoryRecordings implements RecordingReader {
  readonly recs = new Map<string, Recording>();
  readonly uploaded = new Map<string, number>();
  /** retention 0: delete after a confirmed upload. */
  deleteOnUpload = false;
  constructor(
    private readonly outbox: OutboxRepo,
    private readonly audit: AuditSink,
  ) {}
  add(r: Recording): void {
    this.recs.set(r.id, r);
  }
  async open(id: string): Promise<Recording> {
    const r = this.recs.get(id);
    if (!r) throw new EarshotError('UNKNOWN_RECORDING', `no recording ${id}`);
    return r;
  }
  async markUploaded(id: string, at: number): Promise<void> {
    const r = this.recs.get(id);
    if (!r) throw new EarshotError('UNKNOWN_RECORDING', `no recording ${id}`);
    this.uploaded.set(id, at);
    await this.outbox.remove(id);
    await this.audit.append({ type: 'recording.uploaded', ownerId: r.ownerId, recordingId: id });
    if (this.deleteOnUpload) {
      this.recs.delete(id);
      await this.audit.append({ type: 'recording.deleted', ownerId: r.ownerId, recordingId: id, detail: { reason: 'retention-0-after-upload' } });
    }
  }
}

/** A consent gate with the same rules as privacy/consent's ConsentGate, driven by plain fields. */
export class ScriptedGate implements UploadGate {
  localOnly = false;
  /** Owners who switched local-only on for themselves. */
  readonly localOnlyOwners = new Set<string>();
  uploadsEnabled = true;
  /** ownerId → [grantedAt, revokedAt?] intervals of cloud-processing consent. */
  readonly consent = new Map<string, { grantedAt: number; revokedAt?: number }[]>();
  checks = 0;
  private readonly listeners = new Set<() => void>();
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Tell subscribers that an answer may have changed (a real gate does this after each decision it records). */
  changed(): void {
    for (const l of this.listeners) l();
  }
  grant(ownerId: string, at: number): void {
    const list = this.consent.get(ownerId) ?? [];
    list.push({ grantedAt: at });
    this.consent.set(ownerId, list);
  }
  revoke(ownerId: string, at: number): void {
    const last = this.consent.get(ownerId)?.at(-1);
    if (last && last.revokedAt === undefined) last.revokedAt = at;
  }
  private activeAt(ownerId: string, t: number): boolean {
    return (this.consent.get(ownerId) ?? []).some((i) => i.grantedAt <= t && (i.revokedAt === undefined || t < i.revokedAt));
  }
  async check(entry: { ownerId: string; capturedAt: number }, now: number): Promise<UploadDecision> {
    this.checks++;
    if (this.localOnly || this.localOnlyOwners.has(entry.ownerId)) return { allowed: false, reason: 'local-only' };
    if (!this.uploadsEnabled) return { allowed: false, reason: 'uploads-disabled' };
    if (!this.activeAt(entry.ownerId, now)) return { allowed: false, reason: 'no-consent' };
    if (!this.activeAt(entry.ownerId, entry.capturedAt)) return { allowed: false, reason: 'consent-not-active-at-capture' };
    return { allowed: true };
  }
}

export class MemoryAudit implements AuditSink {
  readonly events: AuditEventInput[] = [];
  async append(e: AuditEventInput): Promise<void> {
    this.events.push(structuredClone(e));
  }
  ofType(t: AuditEventInput['type']): AuditEventInput[] {
    return this.events.filter((e) => e.type === t);
  }
}

export class MemorySettings implements SettingsRepo {
  readonly values = new Map<string, string>();
  /** Set to make the next set() fail, as a full disk would. */
  failNextSet: Error | undefined;
  async get(k: string): Promise<string | undefined> {
    return this.values.get(k);
  }
  async set(k: string, v: string): Promise<void> {
    if (this.failNextSet) {
      const e = this.failNextSet;
      this.failNextSet = undefined;
      throw e;
    }
    this.values.set(k, v);
  }
}

