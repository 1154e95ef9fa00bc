/**
 * A KeyStore whose key lives only in this process (never on disk): the key a backup's database is wrapped
 * under while it is built or restored. It has no state slot: an erasure applied to a backup being restored
 * is recorded by the device's own key store, not here.
 */
import { randomBytes } from 'node:crypto';
import { EarshotError } from '../core/index.js';
import { KEY_BYTES, open, seal } from './aead.js';
import type { KeyEncryptionKey, KeyStore, LoadedKeys } from './key-store.js';

export class MemoryKek implements KeyEncryptionKey {
  readonly #key: Buffer;
  constructor(
    readonly id: string,
    key: Buffer,
  ) {
    if (key.length !== KEY_BYTES) throw new EarshotError('INTERNAL', 'a key-encryption key must be 32 bytes');
    this.#key = Buffer.from(key);
  }
  static generate(prefix: string): MemoryKek {
    return new MemoryKek(`${prefix}-${randomBytes(8).toString('hex')}`, randomBytes(KEY_BYTES));
  }
  /** The raw key, for sealing it under a passphrase-derived key (backups only). */
  exportKey(): Buffer {
    return Buffer.from(this.#key);
  }
  wrap(plaintext: Buffer, aad: Buffer): Buffer {
    return seal(this.#key, plaintext, aad);
  }
  unwrap(blob: Buffer, aad: Buffer): Buffer {
    return open(this.#key, blob, aad, 'wrapped key');
  }
}

export class MemoryKeyStore implements KeyStore {
  readonly location: string;
  private next: MemoryKek | undefined;

  constructor(
    private current: MemoryKek,
    location = 'memory key store',
  ) {
    this.location = location;
  }

  get currentKek(): MemoryKek {
    return this.current;
  }

  async load(): Promise<LoadedKeys> {
    return this.next ? { current: this.current, next: this.next } : { current: this.current };
  }

  async stageNext(): Promise<KeyEncryptionKey> {
    this.next = MemoryKek.generate('kek');
    return this.next;
  }

  async commitNext(expectedId: string): Promise<void> {
    if (!this.next || this.next.id !== expectedId) throw new EarshotError('KEY_FILE_INVALID', `no pending key ${expectedId} in the memory key store`);
    this.current = this.next;
    this.next = undefined;
  }

  async discardNext(): Promise<void> {
    this.next = undefined;
  }
}
