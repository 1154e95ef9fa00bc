/**
 * Persistence of applied fleet documents through the store's SettingsRepo: per target, the last applied
 * version (the anti-rollback counter) together with the signed document itself, in one value so the two
 * can never disagree. After a restart the documents are re-verified and re-applied, and an equal or older
 * version is still refused.
 */
import type { KeyObject } from 'node:crypto';
import { EarshotError } from '../core/index.js';
import type { SettingsRepo } from '../core/index.js';
import { authenticateFleetDocument } from './document.js';
import { targetsForDevice } from './target.js';
import type { AppliedFleetDocument, FleetTarget } from './types.js';

export interface StoredFleetRecord {
  version: number;
  digest: string;
  /** The signed document exactly as received. */
  document: string;
  appliedAt: number;
}

export function settingsKeyFor(target: FleetTarget): string {
  return `fleet.applied.${target}`;
}

export async function loadFleetRecord(settings: SettingsRepo, target: FleetTarget): Promise<StoredFleetRecord | undefined> {
  const raw = await settings.get(settingsKeyFor(target));
  if (raw === undefined) return undefined;
  let rec: unknown;
  try {
    rec = JSON.parse(raw);
  } catch {
    rec = undefined;
  }
  const r = rec as Partial<StoredFleetRecord> | undefined;
  if (!r || typeof r.version !== 'number' || typeof r.digest !== 'string' || typeof r.document !== 'string' || typeof r.appliedAt !== 'number') {
    // Losing the counter would reopen rollback: refuse to guess.
    throw new EarshotError('STORE_CORRUPT', `setting ${settingsKeyFor(target)} is not a valid fleet record`);
  }
  return r as StoredFleetRecord;
}

export async function saveFleetRecord(settings: SettingsRepo, target: FleetTarget, rec: StoredFleetRecord): Promise<void> {
  await settings.set(settingsKeyFor(target), JSON.stringify(rec));
}

export interface RestoredFleetState {
  /** Counters for every target addressing this device (also for documents no longer applied). */
  records: Map<FleetTarget, StoredFleetRecord>;
  /** Documents that still verify with the pinned keys, in layering order. */
  documents: AppliedFleetDocument[];
  /** Targets whose stored document no longer verifies (e.g. its key was unpinned), with the reason. */
  dropped: { target: FleetTarget; reason: string }[];
}

/** Read and re-verify the applied documents of every target that addresses this device. */
export async function readAppliedFleetState(
  settings: SettingsRepo,
  deviceId: string,
  groups: readonly string[],
  publicKeys: readonly (string | KeyObject)[],
): Promise<RestoredFleetState> {
  const records = new Map<FleetTarget, StoredFleetRecord>();
  const documents: AppliedFleetDocument[] = [];
  const dropped: { target: FleetTarget; reason: string }[] = [];
  for (const target of targetsForDevice(deviceId, groups)) {
    const rec = await loadFleetRecord(settings, target);
    if (!rec) continue;
    records.set(target, rec);
    // Re-authenticate (signature and schema); expiry and version governed acceptance, not what stays applied.
    const verdict = authenticateFleetDocument(rec.document, publicKeys);
    if (!verdict.ok) dropped.push({ target, reason: verdict.reason });
    else if (verdict.document.target !== target || verdict.document.digest !== rec.digest) dropped.push({ target, reason: 'record-mismatch' });
    else documents.push(verdict.document);
  }
  return { records, documents, dropped };
}
