/** Public API of bench/. */
export { benchWake } from './wake.js';
export { benchVerifier } from './verifier.js';
export { benchLongInput } from './long-input.js';
export { benchStore } from './store.js';
export { benchUplink } from './uplink.js';
