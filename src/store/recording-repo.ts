/**
 * Recordings: sealing on save, opening (with the associated data rebuilt from the row) on read, deletion,
 * and upload confirmation. Only ids, times and durations are in clear. The row (with the sealed metadata)
 * is in the metadata database; the sealed audio is in the owner's own file (audio-vault.ts), written before
 * the row commits and deleted after the row's deletion commits.
 */
import { createHash } from 'node:crypto';
import { EarshotError, errorMessage } from '../core/errors.js';
import type { RecordingReader } from '../core/ports.js';
import type { Capture, Recording } from '../core/recording.js';
import { recordingAad, type RecordingBinding } from '../crypto/aad.js';
import { open, seal } from '../crypto/aead.js';
import type { StoreContext } from './context.js';
import { enqueueIn } from './outbox-repo.js';
import type { OwnerDataKey } from './owner-keys.js';
import type { Sql } from './sqlite.js';

/** What the sealed metadata column holds. */
interface SealedMeta {
  v: 1;
  ownerId: string;
  wakeword: string;
  score: number;
  wakeAtMs: number;
  endReason: Capture['endReason'];
  samples: number;
  pcmSha256: string;
  /** The owner marked it "not meant for the speaker" (a false wake); sealed like the rest. */
  falseWake?: boolean;
}

export interface RecordingSummary {
  id: string;
  ownerId: string;
  createdAt: number;
  durationMs: number;
  uploadedAt: number | null;
  wakeword: string;
  score: number;
  falseWake: boolean;
}

interface RecordingRow {
  id: string;
  owner_id: string;
  device_id: string;
  created_at: number;
  duration_ms: number;
  key_version: number;
  sealed_meta: Buffer;
  uploaded_at: number | null;
}

const END_REASONS = new Set(['end-of-speech', 'max-length', 'stream-end']);

function validateCapture(c: Capture): void {
  const bad = (what: string) => new EarshotError('BAD_ARGUMENT', `capture rejected: ${what}`);
  if (typeof c.id !== 'string' || !/^[A-Za-z0-9_.:-]{1,96}$/.test(c.id)) throw bad('id must be 1–96 characters of [A-Za-z0-9_.:-]');
  if (!(c.pcm instanceof Int16Array)) throw bad('pcm must be an Int16Array');
  if (!Number.isFinite(c.startedAt) || !Number.isInteger(c.startedAt)) throw bad('startedAt must be an integer epoch ms');
  if (!Number.isFinite(c.durationMs) || c.durationMs < 0) throw bad('durationMs must be >= 0');
  if (!Number.isFinite(c.score)) throw bad('score must be a number');
  if (typeof c.wakeword !== 'string') throw bad('wakeword must be a string');
  if (!END_REASONS.has(c.endReason)) throw bad('unknown endReason');
}

function pcmBytes(pcm: Int16Array): Buffer {
  // Int16Array bytes are host order; every supported host (ARM, x86) is little-endian, matching WAV.
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

function bytesToPcm(buf: Buffer): Int16Array {
  if (buf.length % 2 !== 0) throw new EarshotError('INTEGRITY', 'stored audio has an odd number of bytes');
  const pcm = new Int16Array(buf.length / 2);
  new Uint8Array(pcm.buffer).set(buf);
  return pcm;
}

function binding(row: RecordingRow, ownerId: string = row.owner_id): RecordingBinding {
  return { recordingId: row.id, ownerId, deviceId: row.device_id, createdAt: row.created_at, keyVersion: row.key_version };
}

export class RecordingRepo implements RecordingReader {
  constructor(private readonly ctx: StoreContext) {}

  /** Seal and save; the audio goes to the owner's file first, and is removed again if the row does not commit. */
  save(ownerId: string, capture: Capture, opts: { enqueue?: boolean } = {}): Promise<RecordingSummary> {
    const progress = { audioWritten: false };
    return this.ctx.db.transaction((sql) => this.saveIn(sql, ownerId, capture, opts, progress), {
      afterRollback: async () => {
        if (!progress.audioWritten) return;
        try {
          await this.ctx.vault.delete(ownerId, [capture.id]);
        } catch (e) {
          // Harmless until then: a blob without a row opens nothing, and the next open's reconcile removes it.
          this.ctx.logger.warn('could not remove the audio of a recording that was not saved; it is removed at the next start', {
            recordingId: capture.id,
            error: errorMessage(e),
          });
        }
      },
    });
  }

  /** Seal and insert inside the caller's transaction (which must hold the write lock: see audio-vault.ts). */
  private async saveIn(
    sql: Sql,
    ownerId: string,
    capture: Capture,
    opts: { enqueue?: boolean },
    progress: { audioWritten: boolean },
  ): Promise<RecordingSummary> {
    validateCapture(capture);
    const key = await this.ctx.keys.require(sql, ownerId);
    const audio = pcmBytes(capture.pcm);
    const b: RecordingBinding = {
      recordingId: capture.id,
      ownerId,
      deviceId: this.ctx.deviceId,
      createdAt: capture.startedAt,
      keyVersion: key.version,
    };
    const meta: SealedMeta = {
      v: 1,
      ownerId,
      wakeword: capture.wakeword,
      score: capture.score,
      wakeAtMs: capture.wakeAtMs,
      endReason: capture.endReason,
      samples: capture.pcm.length,
      pcmSha256: createHash('sha256').update(audio).digest('hex'),
    };
    const sealedMeta = seal(key.key, Buffer.from(JSON.stringify(meta), 'utf8'), recordingAad('meta', b));
    const sealedAudio = seal(key.key, audio, recordingAad('audio', b));
    const exists = await sql.get('SELECT 1 AS x FROM recordings WHERE id = ?', [capture.id]);
    if (exists) throw new EarshotError('BAD_ARGUMENT', `a recording with id ${capture.id} is already stored`);
    progress.audioWritten = true; // set first: a put that fails half-way is cleaned up too
    // The audio write (its own file and connection) runs alongside the row's statements; it must have
    // committed before this transaction does, which the await at the end guarantees.
    const audioWrite = this.ctx.vault.put(ownerId, capture.id, sealedAudio);
    audioWrite.catch(() => undefined); // awaited below; this only keeps a rejection before then from counting as unhandled
    try {
      await sql.run(
        `INSERT INTO recordings (id, owner_id, device_id, created_at, duration_ms, key_version, sealed_meta, uploaded_at)
         VALUES (?,?,?,?,?,?,?,NULL)`,
        [capture.id, ownerId, this.ctx.deviceId, capture.startedAt, Math.round(capture.durationMs), key.version, sealedMeta],
      );
      await this.ctx.audit.appendIn(sql, {
        type: 'recording.created',
        ownerId,
        recordingId: capture.id,
        detail: { durationMs: Math.round(capture.durationMs) },
      });
      if (opts.enqueue) {
        await enqueueIn(sql, { recordingId: capture.id, ownerId, capturedAt: capture.startedAt, enqueuedAt: this.ctx.clock.now() });
      }
    } catch (e) {
      // Let the audio write settle first, so the clean-up after the rollback deletes what it wrote.
      await audioWrite.catch(() => undefined);
      throw e;
    }
    await audioWrite;
    return {
      id: capture.id,
      ownerId,
      createdAt: capture.startedAt,
      durationMs: Math.round(capture.durationMs),
      uploadedAt: null,
      wakeword: capture.wakeword,
      score: capture.score,
      falseWake: false,
    };
  }

  /** Decrypts a recording with its owner's key; INTEGRITY (and an audit incident) if anything does not match. */
  open(recordingId: string): Promise<Recording> {
    return this.openChecked(recordingId, undefined);
  }

  /**
   * Opens a recording *as* `requesterId`: the requester's key and associated data naming the requester.
   * A recording of anyone else, or one moved onto the requester's row, fails. Used by access requests.
   */
  openAs(recordingId: string, requesterId: string): Promise<Recording> {
    return this.openChecked(recordingId, requesterId);
  }

  /**
   * Opens for playback and records that it was played. With `requesterId`, only that owner's own recording
   * opens (with their key, associated data naming them): the owner commands act for one owner at a time.
   */
  async play(recordingId: string, requesterId?: string, source?: string): Promise<Recording> {
    const rec = await this.openChecked(recordingId, requesterId);
    await this.ctx.audit.append({ type: 'recording.played', ownerId: rec.ownerId, recordingId, ...(source !== undefined ? { detail: { source } } : {}) });
    return rec;
  }

  private async openChecked(recordingId: string, requesterId: string | undefined): Promise<Recording> {
    try {
      return await this.ctx.db.exclusive(async (sql) => {
        // For an access request the owner is known up front: read the audio file alongside the row.
        const audioRead = requesterId !== undefined ? this.ctx.vault.get(requesterId, recordingId) : undefined;
        audioRead?.catch(() => undefined); // awaited below; this only keeps an early throw from leaving it unhandled
        const row = await sql.get<RecordingRow>('SELECT * FROM recordings WHERE id = ?', [recordingId]);
        if (!row) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId}`);
        if (requesterId !== undefined && row.owner_id !== requesterId) {
          throw new EarshotError('INTEGRITY', `recording ${recordingId} is not filed under owner ${requesterId}`, { details: { recordingId } });
        }
        const ownerId = requesterId ?? row.owner_id;
        const key = await this.ctx.keys.require(sql, ownerId);
        const sealedAudio = await (audioRead ?? this.ctx.vault.get(ownerId, row.id));
        if (!sealedAudio) {
          throw new EarshotError('INTEGRITY', `recording ${row.id} has no audio in owner ${ownerId}'s audio file: it was moved or removed`, {
            details: { recordingId: row.id, ownerId },
          });
        }
        return this.decrypt(row, key, sealedAudio);
      });
    } catch (e) {
      if (e instanceof EarshotError && e.code === 'INTEGRITY') {
        await this.ctx.incident({ kind: 'integrity', what: 'recording', reason: e.message }, requesterId, recordingId);
      }
      throw e;
    }
  }

  private decrypt(row: RecordingRow, key: OwnerDataKey, sealedAudio: Buffer): Recording {
    const b = binding(row, key.ownerId);
    if (row.key_version !== key.version) {
      throw new EarshotError('INTEGRITY', `recording ${row.id} is sealed under key version ${row.key_version}, not ${key.version}`, {
        details: { recordingId: row.id },
      });
    }
    let meta: SealedMeta;
    let audio: Buffer;
    try {
      meta = JSON.parse(open(key.key, row.sealed_meta, recordingAad('meta', b)).toString('utf8')) as SealedMeta;
      audio = open(key.key, sealedAudio, recordingAad('audio', b));
    } catch (e) {
      throw new EarshotError(
        'INTEGRITY',
        `recording ${row.id} does not open for owner ${key.ownerId}: it belongs to another owner, was moved, or was modified`,
        { cause: e, details: { recordingId: row.id, ownerId: key.ownerId } },
      );
    }
    const sha = createHash('sha256').update(audio).digest('hex');
    if (meta.ownerId !== key.ownerId || meta.pcmSha256 !== sha || meta.samples * 2 !== audio.length) {
      throw new EarshotError('INTEGRITY', `recording ${row.id} failed its content check`, { details: { recordingId: row.id } });
    }
    return {
      id: row.id,
      ownerId: key.ownerId,
      deviceId: row.device_id,
      wakeword: meta.wakeword,
      score: meta.score,
      startedAt: row.created_at,
      wakeAtMs: meta.wakeAtMs,
      durationMs: row.duration_ms,
      endReason: meta.endReason,
      pcm: bytesToPcm(audio),
    };
  }

  /** Recording ids of an owner, oldest first (cheap: no decryption). */
  ids(ownerId: string): Promise<string[]> {
    return this.ctx.db.exclusive(async (sql) =>
      (await sql.all<{ id: string }>('SELECT id FROM recordings WHERE owner_id = ? ORDER BY created_at, id', [ownerId])).map((r) => r.id),
    );
  }

  /** Metadata of an owner's recordings (sealed metadata opened; audio left sealed). */
  list(ownerId: string): Promise<RecordingSummary[]> {
    return this.ctx.db.exclusive(async (sql) => {
      const key = await this.ctx.keys.require(sql, ownerId);
      const rows = await sql.all<RecordingRow>(
        'SELECT id, owner_id, device_id, created_at, duration_ms, key_version, sealed_meta, uploaded_at FROM recordings WHERE owner_id = ? ORDER BY created_at, id',
        [ownerId],
      );
      return rows.map((row) => {
        let meta: SealedMeta;
        try {
          meta = JSON.parse(open(key.key, row.sealed_meta, recordingAad('meta', binding(row))).toString('utf8')) as SealedMeta;
        } catch (e) {
          throw new EarshotError('INTEGRITY', `recording ${row.id} does not open for owner ${ownerId}`, { cause: e, details: { recordingId: row.id } });
        }
        return {
          id: row.id,
          ownerId,
          createdAt: row.created_at,
          durationMs: row.duration_ms,
          uploadedAt: row.uploaded_at,
          wakeword: meta.wakeword,
          score: meta.score,
          falseWake: meta.falseWake === true,
        };
      });
    });
  }

  /**
   * Marks (or unmarks) an owner's recording as a false wake: the sealed metadata is opened with the owner's
   * key, changed and sealed again under the same associated data. Another owner's id answers like an unknown one.
   */
  setFalseWake(recordingId: string, ownerId: string, on: boolean, source: string): Promise<void> {
    return this.ctx.db.transaction(async (sql) => {
      const row = await sql.get<RecordingRow>('SELECT id, owner_id, device_id, created_at, duration_ms, key_version, sealed_meta FROM recordings WHERE id = ? AND owner_id = ?', [recordingId, ownerId]);
      if (!row) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId} for owner ${ownerId}`);
      const key = await this.ctx.keys.require(sql, ownerId);
      const aad = recordingAad('meta', binding(row));
      let meta: SealedMeta;
      try {
        meta = JSON.parse(open(key.key, row.sealed_meta, aad).toString('utf8')) as SealedMeta;
      } catch (e) {
        throw new EarshotError('INTEGRITY', `recording ${row.id} does not open for owner ${ownerId}`, { cause: e, details: { recordingId: row.id } });
      }
      if (meta.ownerId !== ownerId) throw new EarshotError('INTEGRITY', `recording ${row.id} failed its content check`, { details: { recordingId: row.id } });
      const next: SealedMeta = { ...meta, falseWake: on };
      await sql.run('UPDATE recordings SET sealed_meta = ? WHERE id = ?', [seal(key.key, Buffer.from(JSON.stringify(next), 'utf8'), aad), row.id]);
      // Which way it was flagged is sealed too (`personal`): the clear audit columns say only that it changed.
      await this.ctx.audit.appendIn(sql, { type: 'recording.flagged', ownerId, recordingId, detail: { source }, personal: { falseWake: on } });
    });
  }

  /** Which owner a recording belongs to (opaque id), or undefined. */
  ownerOf(recordingId: string): Promise<string | undefined> {
    return this.ctx.db.exclusive(async (sql) => (await sql.get<{ owner_id: string }>('SELECT owner_id FROM recordings WHERE id = ?', [recordingId]))?.owner_id);
  }

  /** Deletes one recording; with `requesterId`, only if it is that owner's. */
  async delete(recordingId: string, reason = 'owner-request', requesterId?: string, source?: string): Promise<void> {
    const ownerId = await this.ctx.db.transaction(async (sql) => {
      const row = await sql.get<{ owner_id: string }>('SELECT owner_id FROM recordings WHERE id = ?', [recordingId]);
      if (!row) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId}`);
      if (requesterId !== undefined && row.owner_id !== requesterId) {
        // Same answer as for an unknown id: another owner's recording ids are not confirmed to exist.
        throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId} for owner ${requesterId}`);
      }
      await sql.run('DELETE FROM recordings WHERE id = ?', [recordingId]);
      await this.ctx.audit.appendIn(sql, { type: 'recording.deleted', ownerId: row.owner_id, recordingId, detail: { reason, ...(source !== undefined ? { source } : {}) } });
      return row.owner_id;
    });
    await this.removeAudio(ownerId, [recordingId]);
  }

  /**
   * After the rows' deletion committed. A failure here leaves blobs without rows: they open nothing (no row
   * gives their associated data) and the next open's reconcile deletes them, so it is logged, not thrown.
   */
  private async removeAudio(ownerId: string, ids: string[]): Promise<void> {
    try {
      await this.ctx.vault.delete(ownerId, ids);
    } catch (e) {
      this.ctx.logger.error('deleted recordings still have audio in the owner file; it is removed at the next start', {
        recordings: ids.length,
        error: errorMessage(e),
      });
    }
  }

  /** After a confirmed upload (PUBACK success). Retention 0 deletes the recording right away. */
  async markUploaded(recordingId: string, at: number): Promise<void> {
    const deletedOf = await this.ctx.db.transaction(async (sql): Promise<string | undefined> => {
      const row = await sql.get<{ owner_id: string; retention_days: number }>(
        'SELECT r.owner_id, o.retention_days FROM recordings r JOIN owners o ON o.id = r.owner_id WHERE r.id = ?',
        [recordingId],
      );
      if (!row) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId}`);
      await sql.run('UPDATE recordings SET uploaded_at = ? WHERE id = ?', [at, recordingId]);
      await sql.run('DELETE FROM outbox WHERE recording_id = ?', [recordingId]);
      await this.ctx.audit.appendIn(sql, { type: 'recording.uploaded', ownerId: row.owner_id, recordingId });
      if (row.retention_days === 0) {
        await sql.run('DELETE FROM recordings WHERE id = ?', [recordingId]);
        await this.ctx.audit.appendIn(sql, { type: 'recording.deleted', ownerId: row.owner_id, recordingId, detail: { reason: 'retention-0-after-upload' } });
        return row.owner_id;
      }
      return undefined;
    });
    if (deletedOf !== undefined) await this.removeAudio(deletedOf, [recordingId]);
  }

  /**
   * Deletes an owner's recordings that retention no longer allows; audits the count. `createdBefore` for
   * retention in days, `uploadedOnly` for retention 0.
   */
  async deleteExpired(ownerId: string, rule: { createdBefore?: number; uploadedOnly?: boolean }): Promise<number> {
    const ids = await this.ctx.db.transaction(async (sql) => {
      let where: string;
      let params: (string | number)[];
      if (rule.uploadedOnly) {
        where = 'owner_id = ? AND uploaded_at IS NOT NULL';
        params = [ownerId];
      } else if (rule.createdBefore !== undefined) {
        where = 'owner_id = ? AND created_at < ?';
        params = [ownerId, rule.createdBefore];
      } else {
        return [];
      }
      // RETURNING: the ids whose audio must go too, from the same statement that deletes the rows.
      const expired = (await sql.all<{ id: string }>(`DELETE FROM recordings WHERE ${where} RETURNING id`, params)).map((r) => r.id);
      const deleted = expired.length;
      if (deleted > 0) {
        await this.ctx.audit.appendIn(sql, {
          type: 'retention.swept',
          ownerId,
          detail: { deleted, ...(rule.createdBefore !== undefined ? { createdBefore: rule.createdBefore } : { afterUpload: true }) },
        });
      }
      return expired;
    });
    await this.removeAudio(ownerId, ids);
    return ids.length;
  }
}
