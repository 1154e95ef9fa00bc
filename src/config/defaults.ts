/**
 * Built-in defaults. device-config/default.json is the same document for people to read and copy
 * (a test keeps the two identical); device-config/README.md explains every field.
 */
import type { DeviceConfig } from './types.js';

export const CURRENT_CONFIG_VERSION = 1 as const;

/** Default data directory; a leading `~/` is expanded to the service user's home directory. */
export const DEFAULT_DATA_DIR = '~/.local/share/earshot';

export const DEFAULT_CONFIG: DeviceConfig = Object.freeze({
  configVersion: CURRENT_CONFIG_VERSION,
  device: {
    // Empty = use the id `earshot init` stored in the data directory (file `device-id`).
    id: '',
    groups: [],
  },
  dataDir: DEFAULT_DATA_DIR,
  audio: {
    recorder: 'arecord',
    device: 'default',
    retryInitialMs: 500,
    retryMaxMs: 30_000,
  },
  wake: {
    words: [{ name: 'hey_jarvis' }],
    threshold: 0.5,
    patienceFrames: 1,
    refractoryMs: 2_000,
    phases: 4, // = DEFAULT_PHASES (src/wakeword/wake-detector.ts), chosen in test/fixtures/MEASUREMENTS.md §1/§4
    vadGate: false,
    noiseSuppressionDb: 20, // = DEFAULT_NOISE_SUPPRESSION_DB (src/wakeword/noise-suppressor.ts), chosen in README "Noise suppression"; 0 = off
  },
  capture: {
    endSilenceMs: 700,
    maxMs: 10_000,
    noSpeechTimeoutMs: 3_000,
    vadThreshold: 0.5,
  },
  privacy: {
    localOnly: false,
    retentionDays: 30,
    uploadsEnabled: true,
    humanReview: false,
  },
  uplink: {
    brokerUrl: '',
    caFile: '',
    certFile: '',
    keyFile: '',
    sessionExpirySec: 604_800,
    keepaliveSec: 30,
    maxInFlight: 16,
    reconnectMinMs: 1_000,
    reconnectMaxMs: 60_000,
  },
  fleet: {
    publicKeys: [],
  },
  log: {
    level: 'info',
  },
  web: {
    enabled: false,
    host: '127.0.0.1',
    port: 8440,
    certFile: '',
    keyFile: '',
  },
}) as DeviceConfig;

/** A fresh, mutable copy of the defaults. */
export function defaultConfig(): DeviceConfig {
  return structuredClone(DEFAULT_CONFIG);
}
