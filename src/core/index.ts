/** Public API of the shared vocabulary: types, error codes, the clock, the redacting logger, the ports, the one backoff and the one topic module. */
export * from './audio-format.js';
export * from './backoff.js';
export * from './canonical-json.js';
export * from './clock.js';
export * from './errors.js';
export * from './logger.js';
export * from './owner-wake-settings.js';
export * from './ports.js';
export * from './privacy-types.js';
export * from './recording.js';
export * from './topics.js';
