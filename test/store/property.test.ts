/**
 * Property test (one long run): random interleavings of owners added and switched, captures, deletions,
 * erasures, transfers and exports against one store and a plain in-memory model. Each fast-check run applies
 * a few operations to the state the previous runs left; EARSHOT_PROP_RUNS sets the number of runs (default
 * 10,000). Checked after every run: every export holds exactly the requester's recordings, byte-identical;
 * nothing deleted or erased ever opens or is listed again.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportManifest } from '../../src/privacy/index.js';
import { encodeWav } from '../../src/audio/index.js';
import { TEST, freshApp, makeCapture, openRecording, tempDir, type TestApp } from './helpers.js';

const RUNS = Number(process.env['EARSHOT_PROP_RUNS'] ?? 10_000);

type Op =
  | { k: 'add' }
  | { k: 'use'; i: number }
  | { k: 'capture'; samples: number; seed: number }
  | { k: 'delete'; i: number }
  | { k: 'erase'; i: number }
  | { k: 'transfer' }
  | { k: 'export'; i: number }
  | { k: 'ghost'; i: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Op>({ k: 'add' }) },
  { weight: 3, arbitrary: fc.nat(20).map<Op>((i) => ({ k: 'use', i })) },
  { weight: 8, arbitrary: fc.record({ samples: fc.integer({ min: 1, max: 400 }), seed: fc.nat() }).map<Op>((r) => ({ k: 'capture', ...r })) },
  { weight: 2, arbitrary: fc.nat(50).map<Op>((i) => ({ k: 'delete', i })) },
  { weight: 1, arbitrary: fc.nat(20).map<Op>((i) => ({ k: 'erase', i })) },
  { weight: 1, arbitrary: fc.constant<Op>({ k: 'transfer' }) },
  { weight: 2, arbitrary: fc.nat(20).map<Op>((i) => ({ k: 'export', i })) },
  { weight: 2, arbitrary: fc.nat(1000).map<Op>((i) => ({ k: 'ghost', i })) },
);

interface Model {
  owners: Map<string, Map<string, Int16Array>>;
  active: string | undefined;
  gone: string[]; // recording ids deleted or erased
  goneOwners: string[];
}

describe('property: owner isolation, exports and erasure', () => {
  const t = tempDir('earshot-prop-');
  let h: TestApp;
  const model: Model = { owners: new Map(), active: undefined, gone: [], goneOwners: [] };
  let counter = 0;
  const stats = { exports: 0, erasures: 0, transfers: 0, captures: 0 };

  beforeAll(async () => {
    h = await freshApp(path.join(t.dir, 'data'));
  });
  afterAll(async () => {
    await h.close();
    t.cleanup();
  });

  const pick = <T>(xs: T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

  async function apply(op: Op): Promise<void> {
    const ownerIds = [...model.owners.keys()];
    switch (op.k) {
      case 'add': {
        if (model.owners.size >= 6) return;
        const id = await h.app.addOwner({ name: `Owner ${++counter}`, ...TEST });
        model.owners.set(id, new Map());
        model.active ??= id;
        return;
      }
      case 'use': {
        const id = pick(ownerIds, op.i);
        if (!id) return;
        await h.app.useOwner(id, TEST);
        model.active = id;
        return;
      }
      case 'capture': {
        // The daemon's rule: a capture belongs to the owner active at capture time.
        const active = await h.app.activeOwnerId();
        expect(active).toBe(model.active);
        // Bounded per owner so exports stay cheap over a 10,000-run session.
        if (!active || model.owners.get(active)!.size >= 25) return;
        const c = makeCapture({ samples: op.samples, seed: op.seed, id: `rec-${++counter}` });
        await h.app.storeCapture(active, c, { uplink: false });
        model.owners.get(active)!.set(c.id, c.pcm);
        stats.captures++;
        return;
      }
      case 'delete': {
        const all = [...model.owners].flatMap(([owner, m]) => [...m.keys()].map((id) => ({ owner, id })));
        const r = pick(all, op.i);
        if (!r) return;
        // An owner deletes their own recording; another owner asking for it is refused and nothing is deleted.
        const other = ownerIds.find((o) => o !== r.owner);
        if (other) await expect(h.app.deleteRecordings(other, [r.id], TEST)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        expect(await h.app.deleteRecordings(r.owner, [r.id], TEST)).toEqual([r.id]);
        model.owners.get(r.owner)!.delete(r.id);
        model.gone.push(r.id);
        return;
      }
      case 'erase': {
        const id = pick(ownerIds, op.i);
        if (!id) return;
        await h.app.eraseOwner(id, TEST);
        model.gone.push(...model.owners.get(id)!.keys());
        model.owners.delete(id);
        model.goneOwners.push(id);
        if (model.active === id) model.active = undefined;
        stats.erasures++;
        return;
      }
      case 'transfer': {
        const { ownerId } = await h.app.transferDevice({ newOwnerName: `Owner ${++counter}`, ...TEST });
        for (const [id, recs] of model.owners) {
          model.gone.push(...recs.keys());
          model.goneOwners.push(id);
        }
        model.owners = new Map([[ownerId, new Map()]]);
        model.active = ownerId;
        stats.transfers++;
        return;
      }
      case 'export': {
        const id = pick(ownerIds, op.i);
        if (!id) return;
        const out = path.join(t.dir, `export-${++counter}`);
        await h.app.exportOwner({ ownerId: id, out, ...TEST });
        const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as ExportManifest;
        const expected = model.owners.get(id)!;
        expect(m.owner.id).toBe(id);
        expect(m.recordings.map((r) => r.id).sort()).toEqual([...expected.keys()].sort());
        for (const r of m.recordings) {
          expect(readFileSync(path.join(out, r.file)).equals(encodeWav(expected.get(r.id)!))).toBe(true);
        }
        rmSync(out, { recursive: true });
        stats.exports++;
        return;
      }
      case 'ghost': {
        // Nothing deleted or erased comes back.
        const rid = pick(model.gone, op.i);
        if (rid) await expect(openRecording(h.store, rid)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        const oid = pick(model.goneOwners, op.i);
        if (oid) {
          await expect(h.app.getOwner(oid)).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
          expect(await h.store.uow.read((tx) => tx.recordings.ids(oid))).toEqual([]);
        }
        return;
      }
    }
  }

  it(`holds over ${RUNS} random runs`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 3 }), async (ops) => {
        for (const op of ops) await apply(op);
      }),
      // Runs share one store (one long run), so shrinking cannot replay a run in isolation: report as is.
      { numRuns: RUNS, endOnFailure: true },
    );
    // Final full check: every owner's recordings open byte-identical, the audit chain verifies.
    for (const [owner, recs] of model.owners) {
      expect((await h.store.uow.read((tx) => tx.recordings.ids(owner))).sort()).toEqual([...recs.keys()].sort());
    }
    expect((await h.app.verifyAudit()).ok).toBe(true);
    expect(stats.exports).toBeGreaterThan(RUNS / 20);
    expect(stats.erasures + stats.transfers).toBeGreaterThan(RUNS / 40);
  }, 600_000);
});
