/**
 * The consent ledger: per owner and purpose, an append-only history of grants and withdrawals with time,
 * source and the version of the consent text shown. Whether consent is active at a time is computed from the
 * history, never stored. Withdrawing is exactly as easy as granting.
 */
import { systemClock, type Clock } from '../../core/clock.js';
import { EarshotError } from '../../core/errors.js';
import type { ConsentLedgerRepo, OwnerPrivacyRepo } from '../../core/ports.js';
import { isPurpose, PURPOSES, type AuditSink, type ConsentEvent, type Purpose } from '../../core/privacy-types.js';
import { consentActiveAt, decisionAt } from './consent-history.js';

export const SOURCE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const DEFAULT_SOURCE = 'owner-cli';
export const DEFAULT_TEXT_VERSION = '1';

export interface ConsentLedgerDeps {
  repo: ConsentLedgerRepo;
  audit: AuditSink;
  /** When given, decisions for unknown owners are refused (UNKNOWN_OWNER). */
  owners?: OwnerPrivacyRepo;
  clock?: Clock;
  /**
   * Called after a withdrawal is recorded, before revoke() returns: the daemon removes the owner's queued
   * recordings from the outbox and from the MQTT client's unsent store here.
   */
  onRevoked?: (ownerId: string, purpose: Purpose) => Promise<void>;
}

export interface PurposeStatus {
  purpose: Purpose;
  active: boolean;
  /** The decision in force (undefined = never asked). */
  since: number | null;
  source: string | null;
  textVersion: string | null;
}

export class ConsentLedger {
  private readonly clock: Clock;
  constructor(private readonly deps: ConsentLedgerDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  grant(ownerId: string, purpose: string, source: string = DEFAULT_SOURCE, textVersion: string = DEFAULT_TEXT_VERSION): Promise<ConsentEvent> {
    return this.record(ownerId, purpose, 'grant', source, textVersion);
  }

  revoke(ownerId: string, purpose: string, source: string = DEFAULT_SOURCE, textVersion: string = DEFAULT_TEXT_VERSION): Promise<ConsentEvent> {
    return this.record(ownerId, purpose, 'revoke', source, textVersion);
  }

  async isActive(ownerId: string, purpose: Purpose, at: number): Promise<boolean> {
    return consentActiveAt(await this.deps.repo.history(ownerId, purpose), at);
  }

  history(ownerId: string, purpose?: Purpose): Promise<ConsentEvent[]> {
    return this.deps.repo.history(ownerId, purpose);
  }

  /** One row per purpose, as of `at` (default now). */
  async status(ownerId: string, at: number = this.clock.now()): Promise<PurposeStatus[]> {
    const history = await this.deps.repo.history(ownerId);
    return PURPOSES.map((purpose) => {
      const d = decisionAt(
        history.filter((e) => e.purpose === purpose),
        at,
      );
      return { purpose, active: d?.action === 'grant', since: d?.at ?? null, source: d?.source ?? null, textVersion: d?.textVersion ?? null };
    });
  }

  private async record(ownerId: string, purpose: string, action: 'grant' | 'revoke', source: string, textVersion: string): Promise<ConsentEvent> {
    if (!isPurpose(purpose)) throw new EarshotError('BAD_ARGUMENT', `unknown purpose "${purpose}" (one of: ${PURPOSES.join(', ')})`);
    const src = source.trim().toLowerCase();
    // Consent is the owner's alone: fleet config can never grant (or withdraw) it.
    if (src === 'fleet' || src.startsWith('fleet')) throw new EarshotError('BAD_ARGUMENT', 'consent cannot come from fleet configuration; only the owner can decide');
    if (!SOURCE_PATTERN.test(src)) throw new EarshotError('BAD_ARGUMENT', `source "${source}" is not valid (lowercase letters, digits, . _ -)`);
    if (textVersion.trim() === '' || textVersion.length > 64) throw new EarshotError('BAD_ARGUMENT', 'the consent text version must be 1–64 characters');
    if (this.deps.owners) await this.deps.owners.getPrivacy(ownerId);
    const event: ConsentEvent = { ownerId, purpose, action, at: this.clock.now(), source: src, textVersion: textVersion.trim() };
    await this.deps.repo.append(event);
    // The SQLite ledger audits inside its own transaction; other ledgers are audited here.
    if (!this.deps.repo.auditsAppends) {
      await this.deps.audit.append({
        type: 'consent.changed',
        ownerId,
        detail: { purpose, action, source: event.source, textVersion: event.textVersion, at: event.at },
      });
    }
    if (action === 'revoke' && this.deps.onRevoked) await this.deps.onRevoked(ownerId, purpose);
    return event;
  }
}
