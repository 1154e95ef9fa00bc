/**
 * Versioned schema. Each entry is the exact SQL that brought the database to that `PRAGMA user_version`;
 * entries are never edited once shipped (the migration test rebuilds databases of every earlier version
 * from this list, so it doubles as the fixture of every old schema).
 *
 * Plaintext columns hold only opaque ids, timestamps, durations, counters and statuses. Everything that
 * identifies or describes a person (owner name, wake word, score, audio, personal audit details) is in a
 * `sealed_*` / `personal` column under that owner's data key. Since version 3 the sealed audio is in the
 * owner's own file (see audio-vault.ts); since version 6 a recording's wake features and the owners' verifiers
 * are sealed too.
 */
import type { AudioVault } from './audio-vault.js';
import type { Sql } from './sqlite.js';

export interface Migration {
  version: number;
  description: string;
  /** Runs inside the version's transaction before `sql` (for data that moves out of this database). */
  before?: (sql: Sql, env: MigrationEnv) => Promise<void>;
  sql: string;
}

/** What a migration's `before` step may use besides the database itself. */
export interface MigrationEnv {
  vault: AudioVault;
}

/** Moves rows in batches so a large store is never held in memory at once. */
const MOVE_BATCH = 200;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'owners, recordings, consent ledger, outbox, settings, audit chain',
    sql: `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE owners (
  id             TEXT PRIMARY KEY,
  created_at     INTEGER NOT NULL,
  key_version    INTEGER NOT NULL,
  wrapped_key    BLOB NOT NULL,
  sealed_profile BLOB NOT NULL,
  local_only     INTEGER NOT NULL CHECK (local_only IN (0, 1)),
  retention_days INTEGER NOT NULL CHECK (retention_days >= 0)
);

CREATE TABLE recordings (
  id           TEXT PRIMARY KEY,
  owner_id     TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  device_id    TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  duration_ms  INTEGER NOT NULL,
  key_version  INTEGER NOT NULL,
  sealed_meta  BLOB NOT NULL,
  sealed_audio BLOB NOT NULL
);
CREATE INDEX recordings_by_owner ON recordings(owner_id, created_at);

CREATE TABLE consent (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id     TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  purpose      TEXT NOT NULL,
  action       TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
  at           INTEGER NOT NULL,
  source       TEXT NOT NULL,
  text_version TEXT NOT NULL
);
CREATE INDEX consent_by_owner ON consent(owner_id, purpose, seq);
CREATE TRIGGER consent_append_only BEFORE UPDATE ON consent
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

CREATE TABLE outbox (
  recording_id    TEXT PRIMARY KEY REFERENCES recordings(id) ON DELETE CASCADE,
  owner_id        TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  captured_at     INTEGER NOT NULL,
  enqueued_at     INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at, captured_at);

CREATE TABLE audit (
  seq          INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  type         TEXT NOT NULL,
  owner_id     TEXT,
  recording_id TEXT,
  detail       TEXT,
  personal     BLOB,
  key_version  INTEGER,
  prev_hash    TEXT NOT NULL,
  hash         TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    description: 'upload confirmation time (retention 0 = delete after upload); audit lookups by owner',
    sql: `
ALTER TABLE recordings ADD COLUMN uploaded_at INTEGER;
CREATE INDEX recordings_uploaded ON recordings(uploaded_at) WHERE uploaded_at IS NOT NULL;
CREATE INDEX audit_by_owner ON audit(owner_id, seq);
`,
  },
  {
    version: 3,
    description: "each owner's sealed audio moves to its own file (audio/<owner>.db), so erasure is an unlink",
    // The sealed blobs are copied unchanged (their associated data names recording, owner and device, not the
    // file). A crash mid-way rolls this transaction back; the copies already made are replaced on the rerun.
    before: async (sql, env) => {
      let after = 0;
      for (;;) {
        const rows = await sql.all<{ rid: number; id: string; owner_id: string; sealed_audio: Buffer }>(
          'SELECT rowid AS rid, id, owner_id, sealed_audio FROM recordings WHERE rowid > ? ORDER BY rowid LIMIT ?',
          [after, MOVE_BATCH],
        );
        if (rows.length === 0) break;
        const byOwner = new Map<string, { recordingId: string; sealed: Buffer }[]>();
        for (const r of rows) {
          const list = byOwner.get(r.owner_id) ?? [];
          list.push({ recordingId: r.id, sealed: r.sealed_audio });
          byOwner.set(r.owner_id, list);
        }
        for (const [ownerId, list] of byOwner) await env.vault.putMany(ownerId, list);
        after = rows[rows.length - 1]!.rid;
      }
    },
    sql: `
ALTER TABLE recordings DROP COLUMN sealed_audio;
`,
  },
  {
    version: 4,
    description: 'the consent ledger is sealed: each row under its owner\'s key with its position bound, and a sealed head per owner',
    // Rows of earlier versions are sealed right after this migration, by RecordingStore.open (it holds the keys).
    sql: `
DROP TRIGGER consent_append_only;
ALTER TABLE consent ADD COLUMN seal BLOB;
ALTER TABLE owners ADD COLUMN sealed_consent_head BLOB;
CREATE TRIGGER consent_append_only BEFORE UPDATE ON consent WHEN OLD.seal IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
`,
  },
  {
    version: 5,
    description: "the owner's page: one-time pairing codes, browser sessions (hashed ids), notice acknowledgements",
    // Codes and session ids are stored as SHA-256 hashes only: a copy of the database pairs no browser. Which
    // owner a code or session is for is sealed under that owner's key (sealed_check / sealed_agent, associated
    // data naming the hash and the owner), so a row edited or added without the key opens nobody's data.
    // Every row goes with its owner (erasure, transfer).
    sql: `
CREATE TABLE web_pairing (
  code_hash    TEXT PRIMARY KEY,
  owner_id     TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  used_at      INTEGER,
  key_version  INTEGER NOT NULL,
  sealed_check BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_pairing_by_owner ON web_pairing(owner_id);

CREATE TABLE web_sessions (
  id_hash      TEXT PRIMARY KEY,
  ref          TEXT NOT NULL UNIQUE,
  owner_id     TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  key_version  INTEGER NOT NULL,
  sealed_agent BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_owner ON web_sessions(owner_id);

CREATE TABLE web_notice_acks (
  owner_id  TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  audit_seq INTEGER NOT NULL,
  acked_at  INTEGER NOT NULL,
  PRIMARY KEY (owner_id, audit_seq)
) WITHOUT ROWID;
`,
  },
  {
    version: 6,
    description: "household verifiers: each recording's wake features, and each owner's verifiers per wake word, sealed under the owner's key",
    // recordings.sealed_features: the wake detection's embedding window (not audio), sealed like the metadata with
    // the recording's binding; it goes with its row (delete, retention, erasure) and is never uploaded.
    // verifiers: one row per owner and wake word. The word is in clear only as word_tag, an HMAC under a key derived
    // from the owner's key; the model and the enrolment features (never audio) are sealed under the owner's key
    // with associated data naming owner, word tag and key version. Rows go with their owner (erasure, transfer).
    sql: `
ALTER TABLE recordings ADD COLUMN sealed_features BLOB;

CREATE TABLE verifiers (
  owner_id        TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  word_tag        TEXT NOT NULL,
  trained_at      INTEGER NOT NULL,
  key_version     INTEGER NOT NULL,
  sealed_model    BLOB NOT NULL,
  sealed_features BLOB NOT NULL,
  PRIMARY KEY (owner_id, word_tag)
) WITHOUT ROWID;
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
