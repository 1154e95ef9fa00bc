/**
 * The in-memory store: the same ports as the SQLite store (src/core/ports.ts), for the application layer's and
 * the privacy logic's tests. A unit of work runs on a copy of the state and replaces it only when `fn`
 * succeeds, so rollback behaves as in SQLite. It seals nothing; the contract suite checks what both must do.
 */
import { randomBytes } from 'node:crypto';
import { canonicalJson, chainHash, GENESIS_HASH } from '../../src/audit/index.js';
import { EarshotError } from '../../src/core/errors.js';
import type {
  AuditEntry,
  AuditQueries,
  AuditVerification,
  ConsentLedgerRepo,
  NoticeRepo,
  OutboxRepo,
  OwnerPrivacy,
  OwnerRecord,
  OwnerRepo,
  QuarantinedItem,
  RecordingRepo,
  RecordingSummary,
  SettingsRepo,
  StoreMaintenance,
  StoreStats,
  StoredVerifier,
  Tx,
  UnitOfWork,
  VerifierEnrolment,
  VerifierRepo,
  WebSession,
  WebSessionRepo,
} from '../../src/core/ports.js';
import type { AuditEventInput, ConsentEvent, OutboxEntry, Purpose } from '../../src/core/privacy-types.js';
import type { Capture, Recording } from '../../src/core/recording.js';
import { canonicalWakeSettings, emptyWakeSettings, type OwnerWakeSettings } from '../../src/core/owner-wake-settings.js';

interface OwnerState {
  id: string;
  name: string;
  createdAt: number;
  localOnly: boolean;
  retentionDays: number;
  /** Their wake settings (in SQLite: sealed in the profile with the name). */
  wake: OwnerWakeSettings;
  /** Set by `tamperProfile`: the profile no longer opens, as a modified sealed profile in SQLite. */
  profileBroken?: true;
}

type StoredRecording = Recording & { uploadedAt: number | null; falseWake: boolean; wakeFeatures?: Float32Array };

type VerifierState = StoredVerifier & { enrolment: VerifierEnrolment };

function copyEnrolment(e: VerifierEnrolment): VerifierEnrolment {
  return {
    clips: e.clips.map((c) => ({
      peakScore: c.peakScore,
      windows: c.windows.map((w) => w.slice()),
      ...(c.partialPhrases !== undefined && c.partialPhrases.length > 0 ? { partialPhrases: c.partialPhrases.map((w) => w.slice()) } : {}),
    })),
    background: e.background.map((w) => w.slice()),
  };
}

interface State {
  owners: Map<string, OwnerState>;
  active: string | undefined;
  recordings: Map<string, StoredRecording>;
  pairings: Map<string, { ownerId: string; createdAt: number; expiresAt: number; usedAt: number | null }>;
  sessions: Map<string, WebSession & { idHash: string }>;
  /** `${ownerId} ${seq}` → when acknowledged. */
  acks: Map<string, number>;
  /** `${ownerId} ${wakeword}` → the verifier. */
  verifiers: Map<string, VerifierState>;
  consent: ConsentEvent[];
  outbox: Map<string, OutboxEntry>;
  settings: Map<string, string>;
  audit: AuditEntry[];
  kek: string;
}

function emptyState(): State {
  return { owners: new Map(), active: undefined, recordings: new Map(), pairings: new Map(), sessions: new Map(), acks: new Map(), verifiers: new Map(), consent: [], outbox: new Map(), settings: new Map(), audit: [], kek: 'kek-0' };
}

function copy(s: State): State {
  return {
    owners: new Map([...s.owners].map(([k, v]) => [k, { ...v, wake: structuredClone(v.wake) }])),
    active: s.active,
    recordings: new Map([...s.recordings].map(([k, v]) => [k, { ...v }])),
    pairings: new Map([...s.pairings].map(([k, v]) => [k, { ...v }])),
    sessions: new Map([...s.sessions].map(([k, v]) => [k, { ...v }])),
    acks: new Map(s.acks),
    // Entries are replaced, never changed in place, so sharing them between copies is safe.
    verifiers: new Map(s.verifiers),
    consent: [...s.consent],
    outbox: new Map(s.outbox),
    settings: new Map(s.settings),
    audit: [...s.audit],
    kek: s.kek,
  };
}

function unknownOwner(id: string): EarshotError {
  return new EarshotError('UNKNOWN_OWNER', `no owner with id ${id}`, { details: { ownerId: id } });
}

function summary(r: StoredRecording): RecordingSummary {
  return { id: r.id, ownerId: r.ownerId, createdAt: r.startedAt, durationMs: Math.round(r.durationMs), uploadedAt: r.uploadedAt, wakeword: r.wakeword, score: r.score, falseWake: r.falseWake };
}

function byCapture(a: { startedAt: number; id: string }, b: { startedAt: number; id: string }): number {
  return a.startedAt - b.startedAt || a.id.localeCompare(b.id);
}

class MemoryTx implements Tx {
  readonly owners: OwnerRepo;
  readonly recordings: RecordingRepo;
  readonly consent: ConsentLedgerRepo;
  readonly outbox: OutboxRepo;
  readonly settings: SettingsRepo;
  readonly webSessions: WebSessionRepo;
  readonly notices: NoticeRepo;
  readonly verifiers: VerifierRepo;
  readonly audit: { append(e: AuditEventInput): Promise<void> };

  constructor(s: State, deviceId: string, now: () => number) {
    const requireOwner = (id: string): OwnerState => {
      const o = s.owners.get(id);
      if (!o) throw unknownOwner(id);
      return o;
    };
    const profileOf = (o: OwnerState): OwnerState => {
      if (o.profileBroken) throw new EarshotError('INTEGRITY', `profile of owner ${o.id} failed authentication (wrong key, wrong owner, or modified)`);
      return o;
    };
    const record = (o: OwnerState): OwnerRecord => {
      const { wake: _w, profileBroken: _b, ...rest } = profileOf(o);
      return { ...rest, active: s.active === o.id, recordings: [...s.recordings.values()].filter((r) => r.ownerId === o.id).length };
    };
    this.owners = {
      async create(input) {
        const id = `own-${randomBytes(8).toString('hex')}`;
        s.owners.set(id, { id, ...input, wake: emptyWakeSettings() });
        return id;
      },
      async get(id) {
        const o = s.owners.get(id);
        return o ? record(o) : undefined;
      },
      async list() {
        return [...s.owners.values()].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)).map(record);
      },
      async privacy(id): Promise<OwnerPrivacy | undefined> {
        const o = s.owners.get(id);
        return o ? { ownerId: id, localOnly: o.localOnly, retentionDays: o.retentionDays } : undefined;
      },
      async privacyAll() {
        return [...s.owners.values()].sort((a, b) => a.id.localeCompare(b.id)).map((o) => ({ ownerId: o.id, localOnly: o.localOnly, retentionDays: o.retentionDays }));
      },
      async setLocalOnly(id, on) {
        requireOwner(id).localOnly = on;
      },
      async setRetentionDays(id, days) {
        requireOwner(id).retentionDays = days;
      },
      async wakeSettings(id) {
        return structuredClone(profileOf(requireOwner(id)).wake);
      },
      async wakeSettingsAll() {
        return [...s.owners.values()]
          .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
          .map((o) => (o.profileBroken ? { ownerId: o.id, unreadable: `profile of owner ${o.id} failed authentication` } : { ownerId: o.id, settings: structuredClone(o.wake) }));
      },
      async setWakeSettings(id, settings) {
        profileOf(requireOwner(id)).wake = canonicalWakeSettings(structuredClone(settings));
      },
      async activeOwnerId() {
        return s.active;
      },
      async setActive(id) {
        if (id !== undefined) requireOwner(id);
        s.active = id;
      },
      async remove(id) {
        requireOwner(id);
        s.owners.delete(id);
        if (s.active === id) s.active = undefined;
      },
    };
    this.recordings = {
      async insert(ownerId, c: Capture) {
        requireOwner(ownerId);
        if (s.recordings.has(c.id)) throw new EarshotError('BAD_ARGUMENT', `a recording with id ${c.id} is already stored`);
        if (c.wakeFeatures !== undefined && (!(c.wakeFeatures instanceof Float32Array) || c.wakeFeatures.length === 0)) {
          throw new EarshotError('BAD_ARGUMENT', 'capture rejected: wakeFeatures must be a non-empty Float32Array');
        }
        const { wakeFeatures, ...rest } = c;
        const r: StoredRecording = { ...rest, pcm: c.pcm.slice(), ownerId, deviceId, uploadedAt: null, falseWake: false, ...(wakeFeatures ? { wakeFeatures: wakeFeatures.slice() } : {}) };
        s.recordings.set(c.id, r);
        return summary(r);
      },
      async open(id, asOwner) {
        const r = s.recordings.get(id);
        if (!r) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${id}`);
        if (asOwner !== undefined && r.ownerId !== asOwner) throw new EarshotError('INTEGRITY', `recording ${id} is not filed under owner ${asOwner}`);
        if (!s.owners.has(r.ownerId)) throw unknownOwner(r.ownerId);
        const { uploadedAt: _u, falseWake: _f, wakeFeatures: _w, ...rec } = r;
        return { ...rec, pcm: rec.pcm.slice() };
      },
      async summaries(ownerId) {
        requireOwner(ownerId);
        return [...s.recordings.values()].filter((r) => r.ownerId === ownerId).sort(byCapture).map(summary);
      },
      async ids(ownerId) {
        return [...s.recordings.values()].filter((r) => r.ownerId === ownerId).sort(byCapture).map((r) => r.id);
      },
      async filedUnder(id) {
        return s.recordings.get(id)?.ownerId;
      },
      async delete(ownerId, ids) {
        const out: string[] = [];
        for (const id of ids) {
          if (s.recordings.get(id)?.ownerId === ownerId) {
            s.recordings.delete(id);
            s.outbox.delete(id);
            out.push(id);
          }
        }
        return out;
      },
      async markUploaded(id, at) {
        const r = s.recordings.get(id);
        if (!r) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${id}`);
        r.uploadedAt = at;
      },
      async setFalseWake(ownerId, id, falseWake) {
        const r = s.recordings.get(id);
        if (!r || r.ownerId !== ownerId) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${id}`);
        requireOwner(ownerId);
        r.falseWake = falseWake;
      },
      async deleteExpired(ownerId, rule) {
        const expired = [...s.recordings.values()]
          .filter((r) => r.ownerId === ownerId && ('uploadedOnly' in rule ? r.uploadedAt !== null : r.startedAt < rule.createdBefore))
          .map((r) => r.id);
        for (const id of expired) {
          s.recordings.delete(id);
          s.outbox.delete(id);
        }
        return expired;
      },
      async deleteOwner(ownerId) {
        const ids = [...s.recordings.values()].filter((r) => r.ownerId === ownerId).map((r) => r.id);
        for (const id of ids) s.recordings.delete(id);
        return ids.length;
      },
      async wakeFeatures(ownerId, id) {
        const r = s.recordings.get(id);
        if (!r || r.ownerId !== ownerId) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${id}`);
        requireOwner(ownerId);
        return r.wakeFeatures?.slice();
      },
    };
    this.verifiers = {
      async put(ownerId, v) {
        requireOwner(ownerId);
        if (typeof v.wakeword !== 'string' || v.wakeword === '') throw new EarshotError('BAD_ARGUMENT', 'a verifier needs a wake word');
        const dim = v.enrolment.clips[0]?.windows[0]?.length ?? v.enrolment.background[0]?.length ?? 0;
        const all = [...v.enrolment.clips.flatMap((c) => [...c.windows, ...(c.partialPhrases ?? [])]), ...v.enrolment.background];
        if (dim === 0 || all.some((w) => !(w instanceof Float32Array) || w.length !== dim)) {
          throw new EarshotError('BAD_ARGUMENT', 'every feature window must be a Float32Array of one length');
        }
        const { enrolment, ...rest } = v;
        s.verifiers.set(`${ownerId} ${v.wakeword}`, {
          ...rest,
          ownerId,
          model: v.model.slice(),
          peakScores: enrolment.clips.map((c) => c.peakScore),
          backgroundWindows: enrolment.background.length,
          partialPhraseWindows: enrolment.clips.reduce((n, c) => n + (c.partialPhrases?.length ?? 0), 0),
          enrolment: copyEnrolment(enrolment),
        });
      },
      async list(ownerId) {
        return [...s.verifiers.values()]
          .filter((v) => v.ownerId === ownerId)
          .sort((a, b) => a.wakeword.localeCompare(b.wakeword))
          .map(({ enrolment: _e, ...v }) => ({ ...v, model: v.model.slice(), peakScores: [...v.peakScores] }));
      },
      async enrolment(ownerId, wakeword) {
        const v = s.verifiers.get(`${ownerId} ${wakeword}`);
        return v && copyEnrolment(v.enrolment);
      },
      async remove(ownerId, wakeword) {
        return s.verifiers.delete(`${ownerId} ${wakeword}`);
      },
      async removeOwner(ownerId) {
        let n = 0;
        for (const [k, v] of s.verifiers) {
          if (v.ownerId === ownerId) {
            s.verifiers.delete(k);
            n++;
          }
        }
        return n;
      },
    };
    this.consent = {
      async append(e) {
        requireOwner(e.ownerId);
        s.consent.push({ ...e });
      },
      async history(ownerId, purpose?: Purpose) {
        return s.consent.filter((e) => e.ownerId === ownerId && (purpose === undefined || e.purpose === purpose)).map((e) => ({ ...e }));
      },
      async removeOwner(ownerId) {
        const before = s.consent.length;
        s.consent = s.consent.filter((e) => e.ownerId !== ownerId);
        return before - s.consent.length;
      },
    };
    this.outbox = {
      async enqueue(e) {
        const r = s.recordings.get(e.recordingId);
        if (!r) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${e.recordingId}`);
        if (r.ownerId !== e.ownerId) throw new EarshotError('INTEGRITY', `recording ${e.recordingId} does not belong to owner ${e.ownerId}`);
        if (!s.outbox.has(e.recordingId)) s.outbox.set(e.recordingId, { ...e, attempts: 0, nextAttemptAt: e.enqueuedAt, lastError: null });
      },
      async due(at, limit) {
        return [...s.outbox.values()]
          .filter((e) => e.nextAttemptAt <= at)
          .sort((a, b) => a.capturedAt - b.capturedAt || a.recordingId.localeCompare(b.recordingId))
          .slice(0, limit);
      },
      async nextAttemptAfter(at) {
        let t: number | undefined;
        for (const e of s.outbox.values()) if (e.nextAttemptAt > at && (t === undefined || e.nextAttemptAt < t)) t = e.nextAttemptAt;
        return t;
      },
      async entry(id) {
        const e = s.outbox.get(id);
        return e && { ...e };
      },
      async recordFailure(id, error, nextAttemptAt) {
        const e = s.outbox.get(id);
        if (e) s.outbox.set(id, { ...e, attempts: e.attempts + 1, lastError: error.slice(0, 500), nextAttemptAt });
      },
      async remove(id) {
        s.outbox.delete(id);
      },
      async removeOwner(ownerId) {
        let n = 0;
        for (const [id, e] of s.outbox) {
          if (e.ownerId === ownerId) {
            s.outbox.delete(id);
            n++;
          }
        }
        return n;
      },
      async count() {
        return s.outbox.size;
      },
    };
    this.settings = {
      async get(k) {
        return s.settings.get(k);
      },
      async set(k, v) {
        s.settings.set(k, v);
      },
    };
    const bySession = (rows: (WebSession & { idHash: string })[]) =>
      rows.sort((a, b) => a.createdAt - b.createdAt || a.ref.localeCompare(b.ref)).map(({ ref, ownerId }) => ({ ref, ownerId }));
    this.webSessions = {
      async createPairing(p) {
        requireOwner(p.ownerId);
        if (s.pairings.has(p.codeHash)) throw new EarshotError('BAD_ARGUMENT', 'pairing code already stored');
        s.pairings.set(p.codeHash, { ownerId: p.ownerId, createdAt: p.createdAt, expiresAt: p.expiresAt, usedAt: null });
      },
      async pairing(codeHash) {
        const p = s.pairings.get(codeHash);
        return p && { ownerId: p.ownerId, expiresAt: p.expiresAt, usedAt: p.usedAt };
      },
      async markPairingUsed(codeHash, at) {
        const p = s.pairings.get(codeHash);
        if (p && p.usedAt === null) p.usedAt = at;
      },
      async prunePairings(before) {
        for (const [k, p] of s.pairings) if (p.expiresAt < before) s.pairings.delete(k);
      },
      async insertSession(x) {
        requireOwner(x.ownerId);
        if (s.sessions.has(x.idHash) || [...s.sessions.values()].some((v) => v.ref === x.ref)) throw new EarshotError('BAD_ARGUMENT', 'session already stored');
        s.sessions.set(x.idHash, { idHash: x.idHash, ref: x.ref, ownerId: x.ownerId, createdAt: x.createdAt, lastSeenAt: x.createdAt, browser: x.browser });
      },
      async findSession(idHash) {
        const x = s.sessions.get(idHash);
        return x && { ref: x.ref, ownerId: x.ownerId, createdAt: x.createdAt, lastSeenAt: x.lastSeenAt };
      },
      async touchSession(idHash, at) {
        const x = s.sessions.get(idHash);
        if (x && x.lastSeenAt < at) x.lastSeenAt = at;
      },
      async listSessions(ownerId) {
        return [...s.sessions.values()]
          .filter((x) => ownerId === undefined || x.ownerId === ownerId)
          .sort((a, b) => a.createdAt - b.createdAt || a.ref.localeCompare(b.ref))
          .map(({ idHash: _h, ...x }) => ({ ...x }));
      },
      async selectSessions(which) {
        const all = [...s.sessions.values()];
        if ('ref' in which) return bySession(all.filter((x) => x.ref === which.ref && (which.ownerId === undefined || x.ownerId === which.ownerId)));
        if ('idleBefore' in which) return bySession(all.filter((x) => x.lastSeenAt < which.idleBefore));
        if ('ownerId' in which) return bySession(all.filter((x) => x.ownerId === which.ownerId));
        return bySession(all);
      },
      async deleteSession(ref) {
        for (const [k, x] of s.sessions) if (x.ref === ref) s.sessions.delete(k);
      },
      async removeOwner(ownerId) {
        for (const [k, p] of s.pairings) if (p.ownerId === ownerId) s.pairings.delete(k);
        let n = 0;
        for (const [k, x] of s.sessions) {
          if (x.ownerId === ownerId) {
            s.sessions.delete(k);
            n++;
          }
        }
        return n;
      },
    };
    this.notices = {
      async list(ownerId, opts = {}) {
        const o = s.owners.get(ownerId);
        if (!o) return [];
        return s.audit
          .filter((e) => ((e.type === 'incident' && (e.ownerId === ownerId || e.ownerId === null)) || (e.type === 'config.refused' && e.ownerId === null)) && e.at >= o.createdAt)
          .filter((e) => opts.seq === undefined || e.seq === opts.seq)
          .reverse()
          .slice(0, opts.limit ?? 200)
          .map((e) => ({ seq: e.seq, at: e.at, type: e.type, own: e.ownerId === ownerId, detail: e.detail ? { ...e.detail } : null, ackedAt: s.acks.get(`${ownerId} ${e.seq}`) ?? null }));
      },
      async acknowledge(ownerId, seq, at) {
        requireOwner(ownerId);
        if (!s.acks.has(`${ownerId} ${seq}`)) s.acks.set(`${ownerId} ${seq}`, at);
      },
      async lastFleetOutcome() {
        const e = [...s.audit].reverse().find((x) => (x.type === 'config.applied' || x.type === 'config.refused') && x.ownerId === null);
        return e && { at: e.at, type: e.type, detail: e.detail ? { ...e.detail } : null };
      },
      async removeOwner(ownerId) {
        for (const k of [...s.acks.keys()]) if (k.startsWith(`${ownerId} `)) s.acks.delete(k);
      },
    };
    this.audit = {
      async append(e) {
        const seq = s.audit.length + 1;
        const prev = s.audit.at(-1)?.hash ?? GENESIS_HASH;
        const entry = {
          seq,
          at: now(),
          type: e.type,
          ownerId: e.ownerId ?? null,
          recordingId: e.recordingId ?? null,
          detail: e.detail ? { ...e.detail } : null,
          personal: e.personal ? { ...e.personal } : null,
        };
        s.audit.push({ ...entry, hash: chainHash(prev, canonicalJson(entry)) });
      },
    };
  }
}

export class MemoryStore implements UnitOfWork, StoreMaintenance, AuditQueries {
  private state = emptyState();
  /** Units of work committed (for tests that count them). */
  commits = 0;

  constructor(
    readonly deviceId = 'spk-memory',
    private readonly now: () => number = () => Date.now(),
  ) {}

  async run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const draft = copy(this.state);
    const out = await fn(new MemoryTx(draft, this.deviceId, this.now));
    this.state = draft;
    this.commits++;
    return out;
  }

  async runRekeyed<T>(fn: (tx: Tx, rotation: { from: string; to: string }) => Promise<T>): Promise<T> {
    const from = this.state.kek;
    const to = `kek-${Number(from.slice(4)) + 1}`;
    const out = await this.run((tx) => fn(tx, { from, to }));
    // Only a committed unit switches the key, as in SQLite.
    this.state.kek = to;
    return out;
  }

  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    // A read works on a copy, so nothing it might (wrongly) write survives.
    return fn(new MemoryTx(copy(this.state), this.deviceId, this.now));
  }

  async compact(): Promise<void> {}

  /** Tests: the owner's profile stops opening, as a modified sealed profile does in SQLite. */
  tamperProfile(ownerId: string): void {
    const o = this.state.owners.get(ownerId);
    if (!o) throw new Error(`no owner ${ownerId}`);
    o.profileBroken = true;
  }

  /** Nothing is ever out of step in memory: there is no file to tamper with. */
  async quarantined(): Promise<QuarantinedItem[]> {
    return [];
  }
  async restoreQuarantined(id: string): Promise<{ restoredTo: string }> {
    throw new EarshotError('BAD_ARGUMENT', `nothing in quarantine with id ${id}`);
  }
  async discardQuarantined(id: string): Promise<QuarantinedItem> {
    throw new EarshotError('BAD_ARGUMENT', `nothing in quarantine with id ${id}`);
  }

  async stats(): Promise<StoreStats> {
    return {
      owners: this.state.owners.size,
      recordings: this.state.recordings.size,
      outbox: this.state.outbox.size,
      auditEntries: this.state.audit.length,
      schemaVersion: 0,
      activeOwnerId: this.state.active ?? null,
      quarantined: 0,
    };
  }

  async list(opts: { ownerId?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    const all = this.state.audit.filter((e) => opts.ownerId === undefined || e.ownerId === opts.ownerId).map((e) => ({
      ...e,
      personal: e.ownerId !== null && e.personal !== null && !this.state.owners.has(e.ownerId) ? ('redacted' as const) : e.personal,
    }));
    return opts.limit !== undefined ? all.slice(0, opts.limit) : all;
  }

  async head(): Promise<{ seq: number; head: string }> {
    const last = this.state.audit.at(-1);
    return { seq: last?.seq ?? 0, head: last?.hash ?? GENESIS_HASH };
  }

  async verify(): Promise<AuditVerification> {
    const h = await this.head();
    return { ok: true, entries: this.state.audit.length, lastSeq: h.seq, head: h.head, problems: [] };
  }
}
