/** The SQLite store passes the shared port contracts (test/store/contracts.ts). */
import { randomUUID } from 'node:crypto';
import type { RecordingStore } from '../../src/store/index.js';
import {
  auditSinkContract,
  consentLedgerContract,
  outboxContract,
  ownerPrivacyContract,
  recordingReaderContract,
  settingsContract,
  type Fixture,
} from './contracts.js';
import { freshStore, makeCapture, tempDir } from './helpers.js';

function sqlite<R>(pick: (s: RecordingStore) => R): () => Promise<Fixture<R>> {
  return async () => {
    const t = tempDir();
    const store = await freshStore(t.dir);
    let n = 0;
    return {
      repo: pick(store),
      addOwner: () => store.owners.add(`Owner ${++n}`),
      addRecording: async (ownerId, capturedAt) => {
        const c = makeCapture({ id: randomUUID(), startedAt: capturedAt, samples: 160 });
        await store.saveCapture(ownerId, c);
        return c.id;
      },
      cleanup: async () => {
        await store.close();
        t.cleanup();
      },
    };
  };
}

consentLedgerContract('SQLite', sqlite((s) => s.consent));
outboxContract('SQLite', sqlite((s) => s.outbox));
settingsContract('SQLite', sqlite((s) => s.settings));
ownerPrivacyContract('SQLite', sqlite((s) => s.owners));
recordingReaderContract('SQLite', sqlite((s) => Object.assign(Object.create(s.recordings) as typeof s.recordings, { ownerPrivacy: s.owners })));
auditSinkContract(
  'SQLite',
  sqlite((s) => ({
    append: (e: Parameters<typeof s.audit.append>[0]) => s.audit.append(e),
    entries: async () => (await s.audit.list()).map((e) => ({ type: e.type, ownerId: e.ownerId, detail: e.detail })),
  })),
);
