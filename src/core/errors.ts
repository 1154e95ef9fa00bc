/**
 * Typed errors with a stable code. Every boundary (CLI, config, store, uplink, fleet) throws these so
 * callers can branch on `code` and the CLI can print one clear line and exit non-zero.
 */
export type ErrorCode =
  // input / config
  | 'BAD_ARGUMENT'
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  // audio
  | 'AUDIO_FORMAT'
  | 'AUDIO_FILE'
  | 'RECORDER_FAILED'
  | 'PLAYBACK_FAILED'
  // models
  | 'MODEL_MISSING'
  | 'MODEL_HASH_MISMATCH'
  | 'MODEL_MANIFEST_INVALID'
  | 'MODEL_LOAD_FAILED'
  // keys, store, crypto
  | 'KEY_FILE_PERMISSIONS'
  | 'KEY_FILE_MISSING'
  | 'KEY_FILE_INVALID'
  | 'WRONG_KEY'
  | 'NOT_INITIALISED'
  | 'UNKNOWN_OWNER'
  | 'NO_ACTIVE_OWNER'
  | 'UNKNOWN_RECORDING'
  // a wake word another owner of the device has claimed
  | 'WAKEWORD_CLAIMED'
  // an owner has no verifier for that wake word
  | 'UNKNOWN_VERIFIER'
  // the data an operation prepared from changed under it too often (another process)
  | 'CONFLICT'
  // the owner's page: anything not the session owner's answers like something that does not exist
  | 'NOT_FOUND'
  | 'WEB_TLS'
  | 'WEB_LISTEN'
  | 'INTEGRITY'
  | 'STORE_CORRUPT'
  | 'STORE_IO'
  | 'DISK_FULL'
  | 'EXPORT_ABORTED'
  | 'AUDIT_BROKEN'
  // privacy, uplink, fleet
  | 'CONSENT_REQUIRED'
  | 'LOCAL_ONLY'
  | 'UPLINK_REFUSED'
  | 'UPLINK_UNAVAILABLE'
  | 'FLEET_REFUSED'
  // daemon
  | 'DAEMON_RUNNING'
  | 'INTERNAL';

export class EarshotError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EarshotError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isEarshotError(e: unknown, code?: ErrorCode): e is EarshotError {
  return e instanceof EarshotError && (code === undefined || e.code === code);
}

/** Message of any thrown value, for logs. Never includes buffers or stack-embedded data. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
