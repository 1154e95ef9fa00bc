/** The child process asks the real consent gate, over the same SQLite store the parent granted consent in. */
import type { UploadGate } from '../../../src/core/ports.js';
import { ConsentGate } from '../../../src/privacy/consent/index.js';
import type { RecordingStore } from '../../../src/store/index.js';

export async function childGate(store: RecordingStore): Promise<UploadGate> {
  return new ConsentGate({
    consent: store.consent,
    owners: store.owners,
    devicePrivacy: () => ({ localOnly: false, retentionDays: 30, uploadsEnabled: true, humanReview: false }),
    fleetPrivacy: () => ({}),
  });
}
