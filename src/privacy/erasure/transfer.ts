/**
 * Ownership transfer (device sold or handed on): optionally export every current owner first, then shred
 * them all, then set the new owner. If any export fails nothing is erased (the export error is thrown).
 * Single-owner erasure is `store.eraseOwner(ownerId)` (crypto-shredding, see src/store/recording-store.ts).
 */
import path from 'node:path';
import type { RecordingStore, EraseResult } from '../../store/recording-store.js';
import { exportOwner, type ExportResult } from '../export/export-owner.js';

export interface TransferOptions {
  newOwnerName: string;
  /** Export each current owner into this directory as `<ownerId>.tar` (or `.tar.enc` with a passphrase). */
  exportDir?: string;
  passphrase?: string;
  retentionDays?: number;
  localOnly?: boolean;
  onProgress?: (p: { ownerId: string; done: number; total: number }) => void;
}

export async function transferDevice(
  store: RecordingStore,
  opts: TransferOptions,
): Promise<{ ownerId: string; erased: EraseResult[]; exports: ExportResult[] }> {
  const exports: ExportResult[] = [];
  if (opts.exportDir !== undefined) {
    for (const o of await store.owners.list()) {
      const out = path.join(opts.exportDir, `${o.id}.${opts.passphrase !== undefined ? 'tar.enc' : 'tar'}`);
      exports.push(
        await exportOwner(store, {
          ownerId: o.id,
          out,
          ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
          ...(opts.onProgress ? { onProgress: (p) => opts.onProgress!({ ownerId: o.id, ...p }) } : {}),
        }),
      );
    }
  }
  const { ownerId, erased } = await store.transferTo(opts.newOwnerName, {
    ...(opts.retentionDays !== undefined ? { retentionDays: opts.retentionDays } : {}),
    ...(opts.localOnly !== undefined ? { localOnly: opts.localOnly } : {}),
  });
  return { ownerId, erased, exports };
}
