/**
 * Where the device key (key-encryption key, KEK) lives. The file implementation is the default; a TPM or
 * secure element implements the same interface (the KEK never has to leave it: only wrap/unwrap are used).
 *
 * Rotation is a two-phase protocol driven by the store: `stageNext()` makes a pending key, the store re-wraps
 * every data key under it in one database transaction that also records the new key id, then `commitNext()`
 * makes it current. On start the store compares the key id the database expects with `current` and `next`,
 * so a crash at any point leaves exactly one working key.
 */
export interface KeyEncryptionKey {
  /** Opaque, non-secret id (stored in the database to say which KEK wraps its data keys). */
  readonly id: string;
  wrap(plaintext: Buffer, aad: Buffer): Buffer;
  /** Throws EarshotError('INTEGRITY') when the blob was not wrapped by this key with this associated data. */
  unwrap(blob: Buffer, aad: Buffer): Buffer;
}

export interface LoadedKeys {
  current: KeyEncryptionKey;
  /** A staged key from an unfinished rotation, if any. */
  next?: KeyEncryptionKey;
}

export interface KeyStore {
  /** Human-readable location for messages (a path, a TPM handle). Never key material. */
  readonly location: string;
  /** Throws KEY_FILE_MISSING, KEY_FILE_PERMISSIONS or KEY_FILE_INVALID. */
  load(): Promise<LoadedKeys>;
  stageNext(): Promise<KeyEncryptionKey>;
  /** The staged key becomes current; the old one is destroyed. */
  commitNext(expectedId: string): Promise<void>;
  /** Drop a staged key the database never adopted. */
  discardNext(): Promise<void>;
}
