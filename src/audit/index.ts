/** Public API of the tamper-evident audit log: the hash chain (pure) and its SQLite-backed log. */
export {
  GENESIS_HASH,
  canonicalEntry,
  canonicalJson,
  chainHash,
  checkOutsideHeads,
  parseExpectedHead,
  verifyChain,
  type AuditAnchor,
  type AuditProblem,
  type AuditProblemKind,
  type AuditRow,
  type AuditVerifyReport,
  type ExpectedHead,
} from './chain.js';
export { AuditLog, type AnchorStore, type AuditEntryView, type ExternalAnchor, type ExternalAnchorState, type PersonalSealer } from './audit-log.js';
