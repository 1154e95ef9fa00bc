/** What the store's repositories share: keys, the owners' audio files, the device identity, clock and logger. */
import type { Clock } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { AudioVault } from './audio-vault.js';
import type { OwnerKeys } from './owner-keys.js';

export interface StoreContext {
  /** Each owner's sealed audio, one file per owner. */
  vault: AudioVault;
  keys: OwnerKeys;
  clock: Clock;
  logger: Logger;
  deviceId: string;
  /**
   * Inside the transaction that removes an owner: lists the id in the key store (outside the database), so a
   * restore of an older backup erases them again. Absent for key stores without a state slot.
   */
  recordErasure?: (ownerId: string) => Promise<void>;
}
