/**
 * Recordings: sealing on insert, opening (with the associated data rebuilt from the row) on read, deletion.
 * Only ids, times and durations are in clear. The row (with the sealed metadata) is in the metadata database;
 * the sealed audio is in the owner's own file (audio-vault.ts), written before the row commits and deleted after
 * the row's deletion commits. Plain persistence: what may be deleted, and the audit trail, are src/app's.
 */
import { createHash } from 'node:crypto';
import { EarshotError, errorMessage } from '../core/index.js';
import type { RecordingRepo, RecordingSummary } from '../core/index.js';
import type { Capture, Recording } from '../core/index.js';
import { encodeAad, open, recordingAad, seal, type RecordingBinding } from '../crypto/index.js';
import { bytesToFeatures, featureBytes } from './feature-codec.js';
import type { StoreContext } from './context.js';
import type { OwnerDataKey } from './owner-keys.js';
import type { Scope } from './scope.js';
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
  /** Values in the sealed wake features (schema 6), so a column emptied without the key is noticed. */
  wakeFeatures?: number;
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
  sealed_features: Buffer | null;
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
  if (c.wakeFeatures !== undefined && (!(c.wakeFeatures instanceof Float32Array) || c.wakeFeatures.length === 0)) {
    throw bad('wakeFeatures must be a non-empty Float32Array');
  }
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

/** The wake features' associated data: the recording's binding under a label of its own. */
function featuresAad(b: RecordingBinding): Buffer {
  return encodeAad('earshot/recording/features/v1', [b.recordingId, b.ownerId, b.deviceId, b.createdAt, b.keyVersion]);
}

function binding(row: RecordingRow, ownerId: string = row.owner_id): RecordingBinding {
  return { recordingId: row.id, ownerId, deviceId: row.device_id, createdAt: row.created_at, keyVersion: row.key_version };
}

export class SqliteRecordingRepo implements RecordingRepo {
  constructor(
    private readonly scope: Scope,
    private readonly ctx: StoreContext,
  ) {}

  private get sql(): Sql {
    return this.scope.sql;
  }

  /** Seal and insert; the caller's transaction must hold the write lock (see audio-vault.ts). */
  async insert(ownerId: string, capture: Capture): Promise<RecordingSummary> {
    validateCapture(capture);
    const key = await this.ctx.keys.require(this.sql, ownerId);
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
      ...(capture.wakeFeatures !== undefined ? { wakeFeatures: capture.wakeFeatures.length } : {}),
    };
    const sealedMeta = seal(key.key, Buffer.from(JSON.stringify(meta), 'utf8'), recordingAad('meta', b));
    // Features, not audio: in the metadata database with the row, so they go with it in every deletion.
    const sealedFeatures = capture.wakeFeatures !== undefined ? seal(key.key, featureBytes(capture.wakeFeatures), featuresAad(b)) : null;
    const sealedAudio = seal(key.key, audio, recordingAad('audio', b));
    const exists = await this.sql.get('SELECT 1 AS x FROM recordings WHERE id = ?', [capture.id]);
    if (exists) throw new EarshotError('BAD_ARGUMENT', `a recording with id ${capture.id} is already stored`);
    // Registered first: a put that fails half-way is cleaned up too.
    this.scope.onRollback(async () => {
      try {
        await this.ctx.vault.delete(ownerId, [capture.id]);
      } catch (e) {
        // Harmless until then: a blob without a row opens nothing, and the next open's reconcile removes it.
        this.ctx.logger.warn('could not remove the audio of a recording that was not saved; it is removed at the next start', {
          recordingId: capture.id,
          error: errorMessage(e),
        });
      }
    });
    // The audio write (its own file and connection) runs alongside the row's statements; it must have
    // committed before this transaction does, which the await at the end guarantees.
    const audioWrite = this.ctx.vault.put(ownerId, capture.id, sealedAudio);
    audioWrite.catch(() => undefined); // awaited below; this only keeps a rejection before then from counting as unhandled
    try {
      await this.sql.run(
        `INSERT INTO recordings (id, owner_id, device_id, created_at, duration_ms, key_version, sealed_meta, uploaded_at, sealed_features)
         VALUES (?,?,?,?,?,?,?,NULL,?)`,
        [capture.id, ownerId, this.ctx.deviceId, capture.startedAt, Math.round(capture.durationMs), key.version, sealedMeta, sealedFeatures],
      );
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

  async open(recordingId: string, asOwner?: string): Promise<Recording> {
    // For an access request the owner is known up front: read the audio file alongside the row.
    const audioRead = asOwner !== undefined ? this.ctx.vault.get(asOwner, recordingId) : undefined;
    audioRead?.catch(() => undefined); // awaited below; this only keeps an early throw from leaving it unhandled
    const row = await this.sql.get<RecordingRow>('SELECT * FROM recordings WHERE id = ?', [recordingId]);
    if (!row) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId}`);
    if (asOwner !== undefined && row.owner_id !== asOwner) {
      throw new EarshotError('INTEGRITY', `recording ${recordingId} is not filed under owner ${asOwner}`, { details: { recordingId } });
    }
    const ownerId = asOwner ?? row.owner_id;
    const key = await this.ctx.keys.require(this.sql, ownerId);
    const sealedAudio = await (audioRead ?? this.ctx.vault.get(ownerId, row.id));
    if (!sealedAudio) {
      throw new EarshotError('INTEGRITY', `recording ${row.id} has no audio in owner ${ownerId}'s audio file: it was moved or removed`, {
        details: { recordingId: row.id, ownerId },
      });
    }
    return this.decrypt(row, key, sealedAudio);
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

  async ids(ownerId: string): Promise<string[]> {
    return (await this.sql.all<{ id: string }>('SELECT id FROM recordings WHERE owner_id = ? ORDER BY created_at, id', [ownerId])).map((r) => r.id);
  }

  async summaries(ownerId: string): Promise<RecordingSummary[]> {
    const key = await this.ctx.keys.require(this.sql, ownerId);
    const rows = await this.sql.all<RecordingRow>(
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
  }

  async filedUnder(recordingId: string): Promise<string | undefined> {
    return (await this.sql.get<{ owner_id: string }>('SELECT owner_id FROM recordings WHERE id = ?', [recordingId]))?.owner_id;
  }

  async delete(ownerId: string, recordingIds: readonly string[]): Promise<string[]> {
    const deleted: string[] = [];
    for (const id of recordingIds) {
      const r = await this.sql.run('DELETE FROM recordings WHERE id = ? AND owner_id = ?', [id, ownerId]);
      if (r.changes > 0) deleted.push(id);
    }
    this.removeAudioAfterCommit(ownerId, deleted);
    return deleted;
  }

  async markUploaded(recordingId: string, at: number): Promise<void> {
    const r = await this.sql.run('UPDATE recordings SET uploaded_at = ? WHERE id = ?', [at, recordingId]);
    if (r.changes === 0) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId}`);
  }

  async setFalseWake(ownerId: string, recordingId: string, falseWake: boolean): Promise<void> {
    const row = await this.sql.get<RecordingRow>('SELECT * FROM recordings WHERE id = ? AND owner_id = ?', [recordingId, ownerId]);
    if (!row) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId}`);
    const key = await this.ctx.keys.require(this.sql, ownerId);
    // Re-sealed under the same associated data: the mark is as authenticated as the rest of the metadata.
    const aad = recordingAad('meta', binding(row, ownerId));
    let meta: SealedMeta;
    try {
      meta = JSON.parse(open(key.key, row.sealed_meta, aad).toString('utf8')) as SealedMeta;
    } catch (e) {
      throw new EarshotError('INTEGRITY', `recording ${row.id} does not open for owner ${ownerId}`, { cause: e, details: { recordingId: row.id } });
    }
    if (meta.ownerId !== ownerId || row.key_version !== key.version) {
      throw new EarshotError('INTEGRITY', `recording ${row.id} failed its content check`, { details: { recordingId: row.id } });
    }
    const next: SealedMeta = { ...meta, falseWake };
    await this.sql.run('UPDATE recordings SET sealed_meta = ? WHERE id = ?', [seal(key.key, Buffer.from(JSON.stringify(next), 'utf8'), aad), row.id]);
  }

  async deleteExpired(ownerId: string, rule: { createdBefore: number } | { uploadedOnly: true }): Promise<string[]> {
    const [where, params] =
      'uploadedOnly' in rule
        ? ['owner_id = ? AND uploaded_at IS NOT NULL', [ownerId]]
        : ['owner_id = ? AND created_at < ?', [ownerId, rule.createdBefore]];
    // RETURNING: the ids whose audio must go too, from the same statement that deletes the rows.
    const expired = (await this.sql.all<{ id: string }>(`DELETE FROM recordings WHERE ${where} RETURNING id`, params as (string | number)[])).map((r) => r.id);
    this.removeAudioAfterCommit(ownerId, expired);
    return expired;
  }

  async wakeFeatures(ownerId: string, recordingId: string): Promise<Float32Array | undefined> {
    const row = await this.sql.get<RecordingRow>('SELECT * FROM recordings WHERE id = ? AND owner_id = ?', [recordingId, ownerId]);
    if (!row) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId}`);
    const key = await this.ctx.keys.require(this.sql, ownerId);
    const b = binding(row, ownerId);
    let meta: SealedMeta;
    let features: Float32Array | undefined;
    try {
      if (row.key_version !== key.version) throw new Error(`sealed under key version ${row.key_version}, not ${key.version}`);
      meta = JSON.parse(open(key.key, row.sealed_meta, recordingAad('meta', b)).toString('utf8')) as SealedMeta;
      features = row.sealed_features === null ? undefined : bytesToFeatures(open(key.key, row.sealed_features, featuresAad(b)));
    } catch (e) {
      throw new EarshotError('INTEGRITY', `recording ${row.id} does not open for owner ${ownerId}`, { cause: e, details: { recordingId: row.id } });
    }
    // The metadata says whether there were features and how many: an emptied or swapped column is refused.
    if (meta.ownerId !== ownerId || (meta.wakeFeatures ?? 0) !== (features?.length ?? 0)) {
      throw new EarshotError('INTEGRITY', `recording ${row.id} failed its content check`, { details: { recordingId: row.id } });
    }
    return features;
  }

  async deleteOwner(ownerId: string): Promise<number> {
    // The owner's whole audio file goes with the owner (OwnerRepo.remove), so only the rows are deleted here.
    return (await this.sql.run('DELETE FROM recordings WHERE owner_id = ?', [ownerId])).changes;
  }

  /**
   * After the rows' deletion committed. A failure leaves blobs without rows: they open nothing (no row gives
   * their associated data) and the next open's reconcile deletes them, so it is logged, not thrown.
   */
  private removeAudioAfterCommit(ownerId: string, ids: string[]): void {
    if (ids.length === 0) return;
    this.scope.onCommit(async () => {
      try {
        await this.ctx.vault.delete(ownerId, ids);
      } catch (e) {
        this.ctx.logger.error('deleted recordings still have audio in the owner file; it is removed at the next start', {
          recordings: ids.length,
          error: errorMessage(e),
        });
      }
    });
  }
}
