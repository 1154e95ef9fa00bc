/** Both stores pass the one persistence contract (test/store/contracts.ts). */
import { storeContract } from './contracts.js';
import { freshStore, tempDir } from './helpers.js';
import { MemoryStore } from '../support/memory-store.js';

storeContract('SQLite', async () => {
  const t = tempDir();
  const store = await freshStore(t.dir);
  return {
    uow: store.uow,
    audit: store.audit,
    cleanup: async () => {
      await store.close();
      t.cleanup();
    },
  };
});

storeContract('in memory', async () => {
  const store = new MemoryStore();
  return { uow: store, audit: store, cleanup: async () => {} };
});
