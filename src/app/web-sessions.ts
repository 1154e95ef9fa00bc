/**
 * The owner page's pairing and sessions: a one-time code starts a session for exactly its owner; sessions are
 * resumed, listed and ended here, for the page and `earshot web` alike. Codes and session ids arrive hashed (the
 * secrets never leave src/web). Each change is one unit of work with its audit entry; a row whose sealed part
 * does not open under its owner's key is no code or session, and is recorded as an incident.
 */
import type { WebSession, WebSessionSelector } from '../core/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { recordIncident } from './incidents.js';
import { requireOwner } from './owners.js';

/** Used and expired codes are kept this long (so "used" and "expired" can be told apart), then pruned. */
const PAIRING_KEEP_MS = 24 * 3600_000;

export type RedeemResult = { status: 'ok'; ownerId: string } | { status: 'unknown' | 'used' | 'expired' };

export function createPairing(deps: AppDeps, req: { ownerId: string; codeHash: string; expiresAt: number } & Origin): Promise<void> {
  const now = deps.clock.now();
  return deps.uow.run(async (tx) => {
    await requireOwner(tx, req.ownerId);
    await tx.webSessions.prunePairings(now - PAIRING_KEEP_MS);
    await tx.webSessions.createPairing({ codeHash: req.codeHash, ownerId: req.ownerId, createdAt: now, expiresAt: req.expiresAt });
    await tx.audit.append({ type: 'web.pairing-created', ownerId: req.ownerId, detail: { expiresAt: req.expiresAt, source: req.source } });
  });
}

/**
 * Uses a code (once) and starts a session for its owner, in one unit of work: two browsers racing with the same
 * code get one session between them.
 */
export async function redeemPairing(
  deps: AppDeps,
  codeHash: string,
  session: { idHash: string; ref: string; browser: string },
  origin: Origin,
): Promise<RedeemResult> {
  let forged = false;
  const out = await deps.uow.run(async (tx): Promise<RedeemResult> => {
    const now = deps.clock.now();
    const p = await tx.webSessions.pairing(codeHash);
    if (!p) return { status: 'unknown' };
    if ('forged' in p) {
      forged = true;
      return { status: 'unknown' };
    }
    if (p.usedAt !== null) return { status: 'used' };
    if (p.expiresAt <= now) return { status: 'expired' };
    await tx.webSessions.markPairingUsed(codeHash, now);
    await tx.webSessions.insertSession({ ...session, ownerId: p.ownerId, createdAt: now });
    await tx.audit.append({ type: 'web.session-started', ownerId: p.ownerId, detail: { session: session.ref, source: origin.source } });
    return { status: 'ok', ownerId: p.ownerId };
  });
  if (forged) await recordIncident(deps, { kind: 'integrity', what: 'pairing-code', reason: 'a pairing code row does not open under its owner key' });
  return out;
}

/**
 * The session a browser presents, authenticated, with its last-seen time moved to `at` (reading the session is
 * not an operation on personal data: it is not audited). undefined for no (or a forged) session.
 */
export async function resumeSession(deps: AppDeps, idHash: string, opts: { touchAt?: number } = {}): Promise<Omit<WebSession, 'browser'> | undefined> {
  const found = await deps.uow.read((tx) => tx.webSessions.findSession(idHash));
  if (found === 'forged') {
    await recordIncident(deps, { kind: 'integrity', what: 'web-session', reason: 'a session row does not open under its owner key' });
    return undefined;
  }
  if (found && opts.touchAt !== undefined && opts.touchAt > found.lastSeenAt) await deps.uow.run((tx) => tx.webSessions.touchSession(idHash, opts.touchAt!));
  return found;
}

/** Of one owner (an unknown or erased owner has none), or all. */
export function listSessions(deps: AppDeps, ownerId?: string): Promise<WebSession[]> {
  return deps.uow.read((tx) => tx.webSessions.listSessions(ownerId));
}

/** Ends the sessions `which` names, in one unit of work, each audited for its owner with the reason. Returns how many. */
export function endSessions(deps: AppDeps, which: WebSessionSelector, reason: string, origin: Origin): Promise<number> {
  return deps.uow.run(async (tx) => {
    const rows = await tx.webSessions.selectSessions(which);
    for (const r of rows) {
      await tx.webSessions.deleteSession(r.ref);
      await tx.audit.append({ type: 'web.session-ended', ownerId: r.ownerId, detail: { session: r.ref, reason, source: origin.source } });
    }
    return rows.length;
  });
}
