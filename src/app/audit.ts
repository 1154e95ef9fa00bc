/** Reading the audit log: verify (a failure is itself an incident), list, head. */
import type { AuditEntry, AuditVerification, AuditVerifyOptions } from '../core/index.js';
import type { AppDeps } from './app-deps.js';
import { recordIncident } from './incidents.js';

export async function verifyAudit(deps: AppDeps, opts: AuditVerifyOptions = {}): Promise<AuditVerification> {
  const r = await deps.audit.verify(opts);
  if (!r.ok) await recordIncident(deps, { kind: 'audit-verify-failed', problems: r.problems.length });
  return r;
}

export function auditLog(deps: AppDeps, opts: { ownerId?: string; limit?: number } = {}): Promise<AuditEntry[]> {
  return deps.audit.list(opts);
}
