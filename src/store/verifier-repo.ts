/**
 * Each owner's verifiers (one per wake word), sealed under the owner's key. The row's clear columns are the owner
 * id, a keyed tag of the word and times; the model with its metadata and the enrolment features (embedding windows,
 * never audio) are two sealed parts whose associated data names the part, the owner, the word tag and the key
 * version. The word tag is an HMAC under a key derived (HKDF) from the owner's data key: without the key the word
 * cannot be read or tested for, and a row moved to another owner or word does not open. Plain persistence.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { EarshotError } from '../core/index.js';
import type { StoredVerifier, VerifierEnrolment, VerifierRepo } from '../core/index.js';
import { encodeAad, open, seal } from '../crypto/index.js';
import type { StoreContext } from './context.js';
import { decodeEnrolment, encodeEnrolment } from './feature-codec.js';
import type { OwnerDataKey } from './owner-keys.js';
import type { Scope } from './scope.js';
import type { Sql } from './sqlite.js';

interface VerifierRow {
  owner_id: string;
  word_tag: string;
  trained_at: number;
  key_version: number;
  sealed_model: Buffer;
  sealed_features: Buffer;
}

/** What the sealed model part holds. */
interface SealedModel {
  v: 1;
  ownerId: string;
  wakeword: string;
  model: string; // base64 of the encoded model
  clips: number;
  cvRecall: number;
  trainedAt: number;
  peakScores: number[];
  backgroundWindows: number;
  /** Absent in verifiers stored before partial-phrase negatives existed. */
  partialPhraseWindows?: number;
  falseWakes: number;
}

function verifierAad(part: 'model' | 'features', ownerId: string, wordTag: string, keyVersion: number): Buffer {
  return encodeAad(`earshot/verifier/${part}/v1`, [ownerId, wordTag, keyVersion]);
}

/** The clear tag of a word for one owner: HMAC-SHA256 under a key derived from the owner's data key. */
export function wordTag(key: OwnerDataKey, wakeword: string): string {
  const tagKey = Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), `earshot/verifier-word-tag/v1/${key.ownerId}`, 32));
  return createHmac('sha256', tagKey).update(wakeword, 'utf8').digest('hex');
}

export class SqliteVerifierRepo implements VerifierRepo {
  constructor(
    private readonly scope: Scope,
    private readonly ctx: StoreContext,
  ) {}

  private get sql(): Sql {
    return this.scope.sql;
  }

  async put(
    ownerId: string,
    v: Omit<StoredVerifier, 'ownerId' | 'peakScores' | 'backgroundWindows' | 'partialPhraseWindows'> & { enrolment: VerifierEnrolment },
  ): Promise<void> {
    if (typeof v.wakeword !== 'string' || v.wakeword === '') throw new EarshotError('BAD_ARGUMENT', 'a verifier needs a wake word');
    if (!Number.isInteger(v.trainedAt)) throw new EarshotError('BAD_ARGUMENT', 'trainedAt must be an integer epoch ms');
    const key = await this.ctx.keys.require(this.sql, ownerId);
    const tag = wordTag(key, v.wakeword);
    const meta: SealedModel = {
      v: 1,
      ownerId,
      wakeword: v.wakeword,
      model: Buffer.from(v.model.buffer, v.model.byteOffset, v.model.byteLength).toString('base64'),
      clips: v.clips,
      cvRecall: v.cvRecall,
      trainedAt: v.trainedAt,
      peakScores: v.enrolment.clips.map((c) => c.peakScore),
      backgroundWindows: v.enrolment.background.length,
      partialPhraseWindows: v.enrolment.clips.reduce((n, c) => n + (c.partialPhrases?.length ?? 0), 0),
      falseWakes: v.falseWakes,
    };
    const sealedModel = seal(key.key, Buffer.from(JSON.stringify(meta), 'utf8'), verifierAad('model', ownerId, tag, key.version));
    const sealedFeatures = seal(key.key, encodeEnrolment(v.enrolment), verifierAad('features', ownerId, tag, key.version));
    await this.sql.run(
      `INSERT INTO verifiers (owner_id, word_tag, trained_at, key_version, sealed_model, sealed_features) VALUES (?,?,?,?,?,?)
       ON CONFLICT (owner_id, word_tag) DO UPDATE SET trained_at = excluded.trained_at, key_version = excluded.key_version,
         sealed_model = excluded.sealed_model, sealed_features = excluded.sealed_features`,
      [ownerId, tag, v.trainedAt, key.version, sealedModel, sealedFeatures],
    );
  }

  async list(ownerId: string): Promise<StoredVerifier[]> {
    const key = await this.ctx.keys.find(this.sql, ownerId);
    if (!key) return [];
    const rows = await this.sql.all<VerifierRow>('SELECT * FROM verifiers WHERE owner_id = ?', [ownerId]);
    return rows.map((r) => this.openModel(r, key)).sort((a, b) => a.wakeword.localeCompare(b.wakeword));
  }

  async enrolment(ownerId: string, wakeword: string): Promise<VerifierEnrolment | undefined> {
    const key = await this.ctx.keys.find(this.sql, ownerId);
    if (!key) return undefined;
    const tag = wordTag(key, wakeword);
    const row = await this.sql.get<VerifierRow>('SELECT * FROM verifiers WHERE owner_id = ? AND word_tag = ?', [ownerId, tag]);
    if (!row) return undefined;
    // The model part names the word inside; opening it checks the row is this word's before the features are used.
    this.openModel(row, key, wakeword);
    let plain: Buffer;
    try {
      plain = open(key.key, row.sealed_features, verifierAad('features', ownerId, tag, row.key_version));
    } catch (e) {
      throw this.doesNotOpen(ownerId, e);
    }
    return decodeEnrolment(plain);
  }

  async remove(ownerId: string, wakeword: string): Promise<boolean> {
    const key = await this.ctx.keys.find(this.sql, ownerId);
    if (!key) return false;
    const r = await this.sql.run('DELETE FROM verifiers WHERE owner_id = ? AND word_tag = ?', [ownerId, wordTag(key, wakeword)]);
    return r.changes > 0;
  }

  async removeOwner(ownerId: string): Promise<number> {
    return (await this.sql.run('DELETE FROM verifiers WHERE owner_id = ?', [ownerId])).changes;
  }

  private openModel(row: VerifierRow, key: OwnerDataKey, expectWord?: string): StoredVerifier {
    let m: SealedModel;
    try {
      if (row.key_version !== key.version) throw new Error(`sealed under key version ${row.key_version}, not ${key.version}`);
      m = JSON.parse(open(key.key, row.sealed_model, verifierAad('model', key.ownerId, row.word_tag, row.key_version)).toString('utf8')) as SealedModel;
    } catch (e) {
      throw this.doesNotOpen(key.ownerId, e);
    }
    // The tag is recomputed from the word inside: a blob sealed for another word (or owner) under a copied tag is refused.
    if (m.ownerId !== key.ownerId || wordTag(key, m.wakeword) !== row.word_tag || (expectWord !== undefined && m.wakeword !== expectWord)) {
      throw new EarshotError('INTEGRITY', `a verifier of owner ${key.ownerId} failed its content check`, { details: { ownerId: key.ownerId, what: 'verifier' } });
    }
    return {
      ownerId: key.ownerId,
      wakeword: m.wakeword,
      model: new Uint8Array(Buffer.from(m.model, 'base64')),
      clips: m.clips,
      cvRecall: m.cvRecall,
      trainedAt: m.trainedAt,
      peakScores: m.peakScores,
      backgroundWindows: m.backgroundWindows,
      partialPhraseWindows: m.partialPhraseWindows ?? 0,
      falseWakes: m.falseWakes,
    };
  }

  private doesNotOpen(ownerId: string, cause: unknown): EarshotError {
    return new EarshotError('INTEGRITY', `a verifier of owner ${ownerId} does not open: it was modified or moved from another owner or word`, {
      cause,
      details: { ownerId, what: 'verifier' },
    });
  }
}
