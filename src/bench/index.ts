/** Public API of bench/. */
export { benchWake, MIN_WAKE_BENCH_MINUTES } from './wake.js';
export { benchVerifier } from './verifier.js';
export { benchLongInput } from './long-input.js';
export { benchStore } from './store.js';
export { benchUplink } from './uplink.js';
