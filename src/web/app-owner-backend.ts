/**
 * OwnerBackend on the application layer: every page action is an EarshotApp operation — the same code path as
 * the CLI — made with source 'owner-page'. The only file in src/web that knows src/app; nothing in src/web
 * knows the store.
 *
 * The app answers another owner's recording exactly like one that never existed (UNKNOWN_RECORDING, checked
 * before anything is opened, so no incident names it), and opens what it opens *as* the session's owner; here
 * that becomes the page's one NOT_FOUND.
 */
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { EarshotApp } from '../app/index.js';
import { encodeWav } from '../audio/index.js';
import { EarshotError, isEarshotError } from '../core/index.js';
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
  type RedeemResult,
  type SessionSelector,
  type SessionView,
  type SpeakerView,
} from './owner-backend.js';

const PAGE = { source: OWNER_PAGE_SOURCE };

const FORCED_WHY =
  'The organisation that manages this speaker (its fleet manager) requires local-only mode, so nothing you say leaves the speaker. Only they can lift it; your own choice is kept for when they do.';

/** UNKNOWN_RECORDING (another owner's, or none) is the page's NOT_FOUND. */
async function asNotFound<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isEarshotError(e, 'UNKNOWN_RECORDING')) throw notFound();
    throw e;
  }
}

export class AppOwnerBackend implements OwnerBackend {
  constructor(private readonly app: EarshotApp) {}

  async ownerName(ownerId: string): Promise<string> {
    return (await this.app.getOwner(ownerId)).name;
  }

  async listRecordings(ownerId: string, page: number, pageSize: number): Promise<RecordingPage> {
    const all = (await this.app.listRecordings(ownerId)).reverse();
    const items = all.slice(page * pageSize, (page + 1) * pageSize).map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      durationMs: r.durationMs,
      wakeword: r.wakeword,
      score: r.score,
      uploaded: r.uploadedAt !== null,
      queued: r.queued,
      falseWake: r.falseWake,
      deleteAt: r.deleteAt === null ? ('after-upload' as const) : r.deleteAt,
    }));
    return { items, page, pageSize, total: all.length };
  }

  openForPlayback(ownerId: string, recordingId: string): Promise<{ wav: Buffer }> {
    return asNotFound(async () => {
      let wav: Buffer | undefined;
      // Delivered = encoded in memory for the response; nothing is written to disk.
      await this.app.playRecording(ownerId, recordingId, PAGE, async (rec) => {
        wav = encodeWav(rec.pcm);
      });
      return { wav: wav! };
    });
  }

  async deleteRecordings(ownerId: string, ids: string[]): Promise<number> {
    return (await asNotFound(() => this.app.deleteRecordings(ownerId, ids, PAGE))).length;
  }

  async flagFalseWake(ownerId: string, recordingId: string, on: boolean): Promise<void> {
    await asNotFound(() => this.app.flagRecording(ownerId, recordingId, on, PAGE));
  }

  async privacy(ownerId: string): Promise<PrivacyView> {
    const owner = await this.app.getOwner(ownerId);
    const { privacy: eff } = await this.app.privacyInEffect(ownerId);
    const { purposes } = await this.app.consentOf(ownerId);
    return {
      localOnly: { effective: eff.localOnly, choice: owner.localOnly, forcedByFleet: eff.localOnlyForcedByFleet, why: eff.localOnlyForcedByFleet ? FORCED_WHY : null },
      consent: CONSENT_TEXTS.map((t) => {
        const s = purposes.find((p) => p.purpose === t.purpose);
        return { purpose: t.purpose, title: t.title, text: t.text, textVersion: t.version, active: s?.active ?? false, since: s?.since ?? null, decidedTextVersion: s?.textVersion ?? null };
      }),
      retentionDays: owner.retentionDays,
      effectiveRetentionDays: eff.retentionDays,
      uploadsEnabled: eff.uploadsEnabled,
    };
  }

  async setLocalOnly(ownerId: string, on: boolean): Promise<PrivacyView> {
    await this.app.setLocalOnly(ownerId, on, PAGE);
    return this.privacy(ownerId);
  }

  async setConsent(ownerId: string, purpose: string, action: 'grant' | 'withdraw', textVersion: string): Promise<PrivacyView> {
    const text = consentText(purpose);
    if (!text) throw new EarshotError('BAD_ARGUMENT', `unknown purpose "${purpose}"`);
    // A grant is for the text on the page now: an older page's grant would not be for what is shown today.
    if (action === 'grant' && textVersion !== text.version) {
      throw new EarshotError('BAD_ARGUMENT', 'the consent text has changed since this page was loaded; reload it and read the new text');
    }
    const origin = { ...PAGE, textVersion };
    if (action === 'grant') await this.app.grantConsent(ownerId, purpose, origin);
    else await this.app.withdrawConsent(ownerId, purpose, origin);
    return this.privacy(ownerId);
  }

  async setRetention(ownerId: string, days: number): Promise<PrivacyView> {
    await this.app.setRetention(ownerId, days, PAGE);
    return this.privacy(ownerId);
  }

  async exportBundle(ownerId: string, passphrase?: string): Promise<ExportDownload> {
    // A private (0700) directory in the store's export staging, removed once sent (a crash: removed at the
    // next start): without a passphrase the bundle is the owner's data in clear.
    const dir = await this.app.deps.exportStaging.create();
    const done = () => fs.rm(dir, { recursive: true, force: true });
    try {
      const ext = passphrase !== undefined ? 'tar.enc' : 'tar';
      const out = path.join(dir, `bundle.${ext}`);
      const r = await this.app.exportOwner({ ownerId, out, ...PAGE, ...(passphrase !== undefined ? { passphrase } : {}) });
      const day = new Date(this.app.deps.clock.now()).toISOString().slice(0, 10);
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
    return { recordings: (await this.app.eraseOwner(ownerId, PAGE)).recordings };
  }

  async activity(ownerId: string, limit: number): Promise<ActivityEntry[]> {
    const entries = await this.app.auditLog({ ownerId });
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
    const { privacy: eff } = await this.app.privacyInEffect(ownerId);
    const { wake, queued, lastFleet: last } = await this.app.deviceActivity(ownerId);
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      listening: wake === undefined ? { state: 'never', since: null } : { state: wake.running && !wake.stale ? 'listening' : 'stopped', since: wake.at },
      localOnly: eff.localOnly,
      uploadsEnabled: eff.uploadsEnabled,
      queued,
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
    return (await this.app.notices(ownerId)).map((n) => ({ id: n.seq, at: n.at, kind: noticeKind(n), message: noticeMessage(n), acknowledged: n.ackedAt !== null }));
  }

  ackNotice(ownerId: string, noticeId: number): Promise<boolean> {
    return this.app.acknowledgeNotice(ownerId, noticeId, PAGE);
  }

  createPairing(ownerId: string, codeHash: string, expiresAt: number, source: string): Promise<void> {
    return this.app.createPairing({ ownerId, codeHash, expiresAt, source });
  }

  redeemPairing(codeHash: string, session: { idHash: string; ref: string; browser: string }): Promise<RedeemResult> {
    return this.app.redeemPairing(codeHash, session, PAGE);
  }

  findSession(idHash: string): Promise<Omit<SessionView, 'browser'> | undefined> {
    return this.app.resumeSession(idHash);
  }

  async touchSession(idHash: string, at: number): Promise<void> {
    await this.app.resumeSession(idHash, { touchAt: at });
  }

  listSessions(ownerId?: string): Promise<SessionView[]> {
    return this.app.listSessions(ownerId);
  }

  endSessions(which: SessionSelector, reason: string, source: string): Promise<number> {
    return this.app.endSessions(which, reason, { source });
  }

  recordPairingLockout(detail: { failures: number; lockedForMs: number }): Promise<void> {
    return this.app.recordIncident({ kind: 'pairing-lockout', failures: detail.failures, lockedForMs: detail.lockedForMs });
  }

  resolveOwner(explicit: string | undefined): Promise<string> {
    return this.app.resolveOwner(explicit);
  }
}
