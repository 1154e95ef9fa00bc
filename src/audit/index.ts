/** Public API of the audit log: the SQLite-backed log and the pure chain functions. */
export { AuditLog, type AnchorStore, type AuditEntryView, type ExternalAnchor, type ExternalAnchorState, type PersonalSealer } from './audit-log.js';
export {
  GENESIS_HASH,
  canonicalEntry,
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
