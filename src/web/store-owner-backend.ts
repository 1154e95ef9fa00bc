/**
 * OwnerBackend on today's store, consent ledger, local-only policy and export: the same functions the CLI
 * runs (one code path), each change made with source 'owner-page'. The only file in src/web that imports
 * the store; the application layer replaces it.
 *
 * Ownership is checked before anything is opened, so another owner's id is never even tried with this
 * owner's key (which would file an integrity incident and answer differently from an unknown id); what is
 * then opened is opened *as* the session's owner, so a row moved onto them still fails authentication.
 */
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeWav } from '../audio/wav.js';
import { changeConsent, fleetForcesLocalOnly, type PrivacyContext, type PrivacyPorts } from '../cli/commands/privacy.js';
import { resolveOwner } from '../cli/owner-option.js';
import type { DeviceConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { EarshotError, isEarshotError } from '../core/errors.js';
import { readAppliedFleetState } from '../fleet/applied-store.js';
import { effectivePrivacy, mergeFleetPrivacy } from '../fleet/merge.js';
import { ConsentLedger } from '../privacy/consent/index.js';
import { exportOwner } from '../privacy/export/export-owner.js';
import { LocalOnlyPolicy } from '../privacy/local-only/index.js';
import type { RecordingStore } from '../store/index.js';
import { readWakeHealth } from '../wake-health.js';
import { CONSENT_TEXTS, consentText } from './consent-texts.js';
import { noticeKind, noticeMessage } from './notice-text.js';
import {
  notFound,
  OWNER_PAGE_SOURCE,
  type ActivityEntry,
  type ExportDownload,
  type Notice,
  type OwnerBackend,
  type PrivacyView,
  type RecordingPage,
  type SessionSelector,
  type SpeakerView,
} from './owner-backend.js';

const DAY_MS = 86_400_000;
const SRC = OWNER_PAGE_SOURCE;

export class StoreOwnerBackend implements OwnerBackend {
  private readonly ports: PrivacyPorts;
  private readonly ctx: PrivacyContext;

  constructor(
    private readonly store: RecordingStore,
    private readonly config: DeviceConfig,
    private readonly deviceId: string,
    private readonly clock: Clock,
  ) {
    this.ports = { consent: store.consent, owners: store.owners, settings: store.settings, audit: store.audit, outbox: store.outbox, ownersAuditLocalOnly: true };
    this.ctx = { config, deviceId, clock };
  }

  async ownerName(ownerId: string): Promise<string> {
    return (await this.store.owners.get(ownerId)).name;
  }

  private async effective(ownerId: string) {
    const owner = await this.store.owners.getPrivacy(ownerId);
    const fleet = await readAppliedFleetState(this.store.settings, this.deviceId, this.config.device.groups, this.config.fleet.publicKeys);
    return { owner, eff: effectivePrivacy(owner, this.config.privacy, mergeFleetPrivacy(fleet.documents.map((d) => d.config.privacy))) };
  }

  async listRecordings(ownerId: string, page: number, pageSize: number): Promise<RecordingPage> {
    const all = (await this.store.recordings.list(ownerId)).reverse();
    const { eff } = await this.effective(ownerId);
    const queued = new Set((await this.store.outbox.due(Number.MAX_SAFE_INTEGER, 1_000_000)).filter((e) => e.ownerId === ownerId).map((e) => e.recordingId));
    const items = all.slice(page * pageSize, (page + 1) * pageSize).map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      durationMs: r.durationMs,
      wakeword: r.wakeword,
      score: r.score,
      uploaded: r.uploadedAt !== null,
      queued: queued.has(r.id),
      falseWake: r.falseWake,
      deleteAt: eff.retentionDays === 0 ? ('after-upload' as const) : r.createdAt + eff.retentionDays * DAY_MS,
    }));
    return { items, page, pageSize, total: all.length };
  }

  private async requireOwn(ownerId: string, recordingId: string): Promise<void> {
    if ((await this.store.recordings.ownerOf(recordingId)) !== ownerId) throw notFound();
  }

  async openForPlayback(ownerId: string, recordingId: string): Promise<{ wav: Buffer }> {
    await this.requireOwn(ownerId, recordingId);
    const rec = await this.store.recordings.play(recordingId, ownerId, SRC);
    return { wav: encodeWav(rec.pcm) };
  }

  async deleteRecordings(ownerId: string, ids: string[]): Promise<number> {
    for (const id of ids) await this.requireOwn(ownerId, id);
    // Deleting is a decision about the recording: it must open as the owner's (a row filed under them by
    // someone else fails here, with an incident) before anything is deleted.
    for (const id of ids) await this.store.recordings.openAs(id, ownerId);
    for (const id of ids) await this.store.recordings.delete(id, 'owner-request', ownerId, SRC);
    return ids.length;
  }

  async flagFalseWake(ownerId: string, recordingId: string, on: boolean): Promise<void> {
    try {
      await this.store.recordings.setFalseWake(recordingId, ownerId, on, SRC);
    } catch (e) {
      if (isEarshotError(e, 'UNKNOWN_RECORDING')) throw notFound();
      throw e;
    }
  }

  async privacy(ownerId: string): Promise<PrivacyView> {
    const { owner, eff } = await this.effective(ownerId);
    const status = await new ConsentLedger({ repo: this.store.consent, audit: this.store.audit, clock: this.clock }).status(ownerId);
    return {
      localOnly: {
        effective: eff.localOnly,
        choice: owner.localOnly,
        forcedByFleet: eff.localOnlyForcedByFleet,
        why: eff.localOnlyForcedByFleet
          ? 'The organisation that manages this speaker (its fleet manager) requires local-only mode, so nothing you say leaves the speaker. Only they can lift it; your own choice is kept for when they do.'
          : null,
      },
      consent: CONSENT_TEXTS.map((t) => {
        const s = status.find((p) => p.purpose === t.purpose);
        return { purpose: t.purpose, title: t.title, text: t.text, textVersion: t.version, active: s?.active ?? false, since: s?.since ?? null, decidedTextVersion: s?.textVersion ?? null };
      }),
      retentionDays: owner.retentionDays,
      effectiveRetentionDays: eff.retentionDays,
      uploadsEnabled: eff.uploadsEnabled,
    };
  }

  async setLocalOnly(ownerId: string, on: boolean): Promise<PrivacyView> {
    const policy = new LocalOnlyPolicy({ owners: this.store.owners, fleetForcesLocalOnly: () => fleetForcesLocalOnly(this.store.settings, this.ctx) });
    await policy.set(ownerId, on, SRC);
    return this.privacy(ownerId);
  }

  async setConsent(ownerId: string, purpose: string, action: 'grant' | 'withdraw', textVersion: string): Promise<PrivacyView> {
    const text = consentText(purpose);
    if (!text) throw new EarshotError('BAD_ARGUMENT', `unknown purpose "${purpose}"`);
    // A grant is for the text on the page now: an older page's grant would not be for what is shown today.
    if (action === 'grant' && textVersion !== text.version) {
      throw new EarshotError('BAD_ARGUMENT', 'the consent text has changed since this page was loaded; reload it and read the new text');
    }
    await changeConsent(this.ports, this.ctx, { action: action === 'grant' ? 'grant' : 'revoke', ownerId, purpose, source: SRC, textVersion });
    return this.privacy(ownerId);
  }

  async setRetention(ownerId: string, days: number): Promise<PrivacyView> {
    await this.store.owners.setRetentionDays(ownerId, days, SRC);
    return this.privacy(ownerId);
  }

  async exportBundle(ownerId: string, passphrase?: string): Promise<ExportDownload> {
    // Inside the data directory (0700), removed once sent: the bundle is the owner's data in clear without a passphrase.
    const dir = await fs.mkdtemp(path.join(this.store.dataDir, '.web-export-'));
    const done = () => fs.rm(dir, { recursive: true, force: true });
    try {
      const ext = passphrase !== undefined ? 'tar.enc' : 'tar';
      const out = path.join(dir, `bundle.${ext}`);
      const r = await exportOwner(this.store, { ownerId, out, source: SRC, now: () => this.clock.now(), ...(passphrase !== undefined ? { passphrase } : {}) });
      const day = new Date(this.clock.now()).toISOString().slice(0, 10);
      return {
        fileName: `earshot-export-${day}.${ext}`,
        contentType: passphrase !== undefined ? 'application/octet-stream' : 'application/x-tar',
        bytes: r.bytes,
        sha256: r.sha256,
        stream: createReadStream(out),
        done,
      };
    } catch (e) {
      await done();
      throw e;
    }
  }

  async erase(ownerId: string): Promise<{ recordings: number }> {
    const r = await this.store.eraseOwner(ownerId, { source: SRC });
    return { recordings: r.recordings };
  }

  async activity(ownerId: string, limit: number): Promise<ActivityEntry[]> {
    const entries = await this.store.audit.list({ ownerId });
    return entries
      .reverse()
      .slice(0, limit)
      .map((e) => {
        // Which way a recording was flagged is sealed; the owner may see it (their key opened it).
        const flagged = e.type === 'recording.flagged' && typeof e.personal === 'object' && e.personal !== null ? { falseWake: e.personal['falseWake'] === true } : {};
        return { seq: e.seq, at: e.at, type: e.type, recordingId: e.recordingId, detail: e.detail === null && !('falseWake' in flagged) ? null : { ...(e.detail ?? {}), ...flagged } };
      });
  }

  async speaker(ownerId: string): Promise<SpeakerView> {
    const { eff } = await this.effective(ownerId);
    const wake = await readWakeHealth(this.store.settings, this.clock.now());
    const last = await this.store.webNotices.lastFleetOutcome();
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      listening: wake === undefined ? { state: 'never', words: [], since: null } : { state: wake.running && !wake.stale ? 'listening' : 'stopped', words: wake.words, since: wake.at },
      localOnly: eff.localOnly,
      uploadsEnabled: eff.uploadsEnabled,
      queued: await this.store.webNotices.queuedFor(ownerId),
      lastFleet: last
        ? {
            result: last.type === 'config.applied' ? 'applied' : 'refused',
            at: last.at,
            target: str(last.detail?.['target']),
            version: typeof last.detail?.['version'] === 'number' ? (last.detail['version'] as number) : null,
            reason: str(last.detail?.['reason']),
          }
        : null,
    };
  }

  async notices(ownerId: string): Promise<Notice[]> {
    return (await this.store.webNotices.list(ownerId)).map((n) => ({ id: n.seq, at: n.at, kind: noticeKind(n), message: noticeMessage(n), acknowledged: n.ackedAt !== null }));
  }

  ackNotice(ownerId: string, noticeId: number): Promise<boolean> {
    return this.store.webNotices.acknowledge(ownerId, noticeId, SRC);
  }

  createPairing(ownerId: string, codeHash: string, expiresAt: number, source: string): Promise<void> {
    return this.store.webSessions.createPairing(ownerId, codeHash, expiresAt, source);
  }

  async redeemPairing(codeHash: string, session: { idHash: string; ref: string; browser: string }) {
    const r = await this.store.webSessions.redeemPairing(codeHash, session, SRC);
    return r.status === 'ok' ? { status: 'ok' as const, ownerId: r.ownerId } : { status: r.status };
  }

  findSession(idHash: string) {
    return this.store.webSessions.find(idHash);
  }

  touchSession(idHash: string, at: number): Promise<void> {
    return this.store.webSessions.touch(idHash, at);
  }

  listSessions(ownerId?: string) {
    return this.store.webSessions.list(ownerId);
  }

  endSessions(which: SessionSelector, reason: string, source: string): Promise<number> {
    return this.store.webSessions.end(which, reason, source);
  }

  recordPairingLockout(detail: { failures: number; lockedForMs: number }): Promise<void> {
    return this.store.recordIncident({ kind: 'pairing-lockout', failures: detail.failures, lockedForMs: detail.lockedForMs });
  }

  resolveOwner(explicit: string | undefined): Promise<string> {
    return resolveOwner(this.store.owners, explicit);
  }
}
