/** Public API of consent: the ledger service and the upload gate. */
export { ConsentLedger, DEFAULT_SOURCE, DEFAULT_TEXT_VERSION, SOURCE_PATTERN, type ConsentLedgerDeps, type PurposeStatus } from './consent-ledger.js';
export { ConsentGate, type ConsentGateDeps } from './consent-gate.js';
export { consentActiveAt, decisionAt } from './consent-history.js';
