export { LocalOnlyPolicy, type LocalOnlyPolicyDeps, type LocalOnlyStatus } from './local-only-policy.js';
