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

/** The latest audit head (sequence number and entry hash). Nothing personal. */
export interface AnchoredHead {
  seq: number;
  head: string;
  /**
   * The head this one extends, written with it before the database commits: when the process dies between the
   * anchor write and the COMMIT, the database is left exactly at `base`, and the next open recognises it.
   */
  base?: { seq: number; head: string };
}

/**
 * State that must live where a copy of the database cannot bring an older version back: beside the key
 * (in the key file, or a TPM's NV index / monotonic counter). A restored or spliced database is then behind
 * it, and the erasures made since a backup are known to the restore.
 */
export interface DeviceStateSlot {
  /** undefined until the first write (a key store created before this slot existed). */
  readAuditAnchor(): Promise<AnchoredHead | undefined>;
  /** Durable before it returns (the store calls it before COMMIT of every transaction that appended audit entries). */
  writeAuditAnchor(anchor: AnchoredHead): Promise<void>;
  /** Ids of every owner erased on this device (opaque ids only; nothing else about them). */
  erasedOwners(): Promise<string[]>;
  /** Durable before it returns; idempotent. */
  recordErasure(ownerId: string): Promise<void>;
}

export interface KeyStore {
  /** Human-readable location for messages (a path, a TPM handle). Never key material. */
  readonly location: string;
  /** Optional monotonic state (the file key store has it; a TPM implementation may use an NV counter). */
  readonly state?: DeviceStateSlot;
  /** Throws KEY_FILE_MISSING, KEY_FILE_PERMISSIONS or KEY_FILE_INVALID. */
  load(): Promise<LoadedKeys>;
  stageNext(): Promise<KeyEncryptionKey>;
  /** The staged key becomes current; the old one is destroyed. */
  commitNext(expectedId: string): Promise<void>;
  /** Drop a staged key the database never adopted. */
  discardNext(): Promise<void>;
}
