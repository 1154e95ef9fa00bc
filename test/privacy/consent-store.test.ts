/** The consent ledger on the SQLite store: each change is one row and exactly one audit entry, committed together. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsentLedger } from '../../src/privacy/consent/index.js';
import type { RecordingStore } from '../../src/store/index.js';
import { freshStore, tempDir } from '../store/helpers.js';

describe('ConsentLedger on the SQLite store', () => {
  let t: ReturnType<typeof tempDir>;
  let store: RecordingStore;
  beforeEach(async () => {
    t = tempDir();
    store = await freshStore(t.dir);
  });
  afterEach(async () => {
    await store.close();
    t.cleanup();
  });

  it('audits every grant and revoke exactly once, and a refused change leaves neither row nor audit entry', async () => {
    const owner = await store.owners.add('Consent Owner');
    const ledger = new ConsentLedger({ repo: store.consent, audit: store.audit, owners: store.owners });
    await ledger.grant(owner, 'cloud-processing', 'owner-cli', '1');
    await ledger.revoke(owner, 'cloud-processing', 'owner-cli', '1');
    const changes = (await store.audit.list()).filter((e) => e.type === 'consent.changed');
    expect(changes).toHaveLength(2);
    expect(await store.consent.history(owner)).toHaveLength(2);
    await expect(ledger.grant('own-nobody', 'cloud-processing', 'owner-cli', '1')).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
    await expect(ledger.grant(owner, 'cloud-processing', 'fleet', '1')).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect((await store.audit.list()).filter((e) => e.type === 'consent.changed')).toHaveLength(2);
    expect(await store.consent.history(owner)).toHaveLength(2);
    expect((await store.audit.verify()).ok).toBe(true);
  });
});
