/**
 * Per-owner data keys (DEK): a random 256-bit key per owner, stored only wrapped by the device key with the
 * owner id and key version as associated data, so a wrapped key copied or swapped onto another owner's row
 * does not unwrap. Keys are unwrapped per use (microseconds) rather than cached, so an owner erased by another
 * process (the CLI while the daemon runs) is gone for everyone at once.
 */
import { EarshotError } from '../core/index.js';
import { dataKeyWrapAad } from '../crypto/index.js';
import { newKey } from '../crypto/index.js';
import type { KeyEncryptionKey } from '../crypto/index.js';
import type { Sql } from './sqlite.js';

export const CURRENT_DEK_VERSION = 1;

export interface OwnerDataKey {
  ownerId: string;
  key: Buffer;
  version: number;
}

export class OwnerKeys {
  constructor(
    private kek: KeyEncryptionKey,
    /** Loads the KEK the database now names (after another process rotated keys). */
    private readonly reload: (expectedId: string) => Promise<KeyEncryptionKey>,
  ) {}

  get kekId(): string {
    return this.kek.id;
  }

  useKek(kek: KeyEncryptionKey): void {
    this.kek = kek;
  }

  /** A fresh data key and its wrapped form for a new owner. */
  create(ownerId: string): { key: OwnerDataKey; wrapped: Buffer } {
    const key = newKey();
    return {
      key: { ownerId, key, version: CURRENT_DEK_VERSION },
      wrapped: this.kek.wrap(key, dataKeyWrapAad(ownerId, CURRENT_DEK_VERSION)),
    };
  }

  /** undefined for an unknown (or erased) owner; INTEGRITY when the wrapped key does not belong to this owner. */
  async find(sql: Sql, ownerId: string): Promise<OwnerDataKey | undefined> {
    const row = await sql.get<{ wrapped_key: Buffer; key_version: number; kek_id: unknown }>(
      "SELECT wrapped_key, key_version, (SELECT value FROM meta WHERE key = 'kek_id') AS kek_id FROM owners WHERE id = ?",
      [ownerId],
    );
    if (!row) return undefined;
    const kekId = Buffer.isBuffer(row.kek_id) ? row.kek_id.toString('utf8') : String(row.kek_id);
    if (kekId !== this.kek.id) this.kek = await this.reload(kekId);
    try {
      const key = this.kek.unwrap(row.wrapped_key, dataKeyWrapAad(ownerId, row.key_version));
      return { ownerId, key, version: row.key_version };
    } catch (e) {
      throw new EarshotError('INTEGRITY', `the data key of owner ${ownerId} does not open: it was modified, swapped or belongs to another owner`, {
        cause: e,
        details: { ownerId, what: 'owner-key' },
      });
    }
  }

  async require(sql: Sql, ownerId: string): Promise<OwnerDataKey> {
    const k = await this.find(sql, ownerId);
    if (!k) throw new EarshotError('UNKNOWN_OWNER', `no owner with id ${ownerId} (earshot owners list shows them)`, { details: { ownerId } });
    return k;
  }

  /** Re-wrap under another KEK (key rotation); the data key itself, and so every recording, is unchanged. */
  rewrap(plainKey: OwnerDataKey, kek: KeyEncryptionKey): Buffer {
    return kek.wrap(plainKey.key, dataKeyWrapAad(plainKey.ownerId, plainKey.version));
  }
}
