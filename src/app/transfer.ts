/**
 * Ownership transfer (device sold or handed on): optionally export every current owner first, then shred them
 * all in one rekeyed unit of work, then add the new owner and make them active. If any export fails nothing is
 * erased (the export error is thrown).
 */
import path from 'node:path';
import type { AppDeps, Origin } from './app-deps.js';
import { auditRotation, eraseIn, type EraseResult } from './erase.js';
import { exportOwner, type ExportResult } from './export-owner.js';
import { addOwner, listOwners, useOwner } from './owners.js';

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
  deps: AppDeps,
  opts: TransferOptions & Origin,
): Promise<{ ownerId: string; erased: EraseResult[]; exports: ExportResult[] }> {
  const exports: ExportResult[] = [];
  if (opts.exportDir !== undefined) {
    for (const o of await listOwners(deps)) {
      const out = path.join(opts.exportDir, `${o.id}.${opts.passphrase !== undefined ? 'tar.enc' : 'tar'}`);
      exports.push(
        await exportOwner(deps, {
          ownerId: o.id,
          out,
          source: opts.source,
          ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
          ...(opts.onProgress ? { onProgress: (p) => opts.onProgress!({ ownerId: o.id, ...p }) } : {}),
        }),
      );
    }
  }
  const erased = await deps.uow.runRekeyed(async (tx, rotation) => {
    const ids = (await tx.owners.privacyAll()).map((p) => p.ownerId);
    const out: EraseResult[] = [];
    for (const id of ids) out.push(await eraseIn(tx, id, 'ownership-transfer', opts));
    await tx.audit.append({ type: 'owner.transferred', detail: { erasedOwners: ids.length, source: opts.source } });
    await auditRotation(tx, rotation, 'ownership-transfer', opts);
    return out;
  });
  await deps.maintenance.compact();
  const ownerId = await addOwner(deps, {
    name: opts.newOwnerName,
    source: opts.source,
    ...(opts.retentionDays !== undefined ? { retentionDays: opts.retentionDays } : {}),
    ...(opts.localOnly !== undefined ? { localOnly: opts.localOnly } : {}),
  });
  await useOwner(deps, ownerId, opts);
  return { ownerId, erased, exports };
}
