/** Public API of the tamper-evident audit log: the hash chain (pure) and its SQLite-backed log. */
export {
  GENESIS_HASH,
  canonicalEntry,
  canonicalJson,
  chainHash,
  verifyChain,
  type AuditAnchor,
  type AuditProblem,
  type AuditProblemKind,
  type AuditRow,
  type AuditVerifyReport,
} from './chain.js';
export { AuditLog, type AnchorStore, type AuditEntryView, type PersonalSealer } from './audit-log.js';
