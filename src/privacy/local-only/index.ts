export { LocalOnlyPolicy, type LocalOnlyPolicyDeps, type LocalOnlyStatus } from './LocalOnlyPolicy.js';
