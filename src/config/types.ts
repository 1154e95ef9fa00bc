/**
 * The device configuration (device-config/default.json, validated by device-config/schema.json).
 * Privacy values here are *defaults and device-level choices*; the owner's own choices live in the store
 * and fleet documents can only tighten them (see src/fleet/merge).
 */
import type { LogLevel } from '../core/index.js';

export interface WakeWordConfig {
  /** Model name as listed in models/manifest.json, e.g. "hey_jarvis". */
  name: string;
  /** Per-word threshold; falls back to wake.threshold. */
  threshold?: number;
}

export interface DeviceConfig {
  /** Schema version of this file; migrations bring older files up to date. */
  configVersion: 1;
  device: {
    /** Opaque device id used in MQTT topics. Never an owner's name. */
    id: string;
    /** Fleet groups this device belongs to (fleet config targets). */
    groups: string[];
  };
  /** Where the database and the key file live. Overridden by --data-dir / EARSHOT_DATA_DIR. */
  dataDir: string;
  audio: {
    /** Recorder program used by node-record-lpcm16. */
    recorder: 'arecord' | 'sox' | 'rec';
    /** ALSA device for arecord (e.g. "plughw:1,0"), or sox device; "default" uses the system default. */
    device: string;
    /** Retry the microphone with exponential backoff after recorder failures. */
    retryInitialMs: number;
    retryMaxMs: number;
  };
  wake: {
    words: WakeWordConfig[];
    /** Default score threshold (openWakeWord default 0.5). */
    threshold: number;
    /** Consecutive frames above threshold required to fire. */
    patienceFrames: number;
    /** After firing, the same word cannot fire again for this long. */
    refractoryMs: number;
    /** Chunk phases scored per 80 ms step (1 = reference behaviour; P > 1 also scores the grid shifted by multiples of 80/P ms; default 4). */
    phases: number;
    /** Only fire when Silero VAD has heard speech within the last second. */
    vadGate: boolean;
    /**
     * Speex noise suppression in front of the wake-word features: the most it attenuates noise, dB (1–60);
     * 0 = off. Only the wake side hears the suppressed audio; captures are the microphone's audio.
     */
    noiseSuppressionDb: number;
  };
  capture: {
    /** End of speech after this much trailing silence. */
    endSilenceMs: number;
    /** Hard cap on a capture's length. */
    maxMs: number;
    /** Discard the capture when no speech starts within this time after the wake word. */
    noSpeechTimeoutMs: number;
    /** Silero VAD probability above which a 640-sample chunk counts as speech. */
    vadThreshold: number;
  };
  privacy: {
    /** Default for new owners; owners toggle their own. */
    localOnly: boolean;
    /** Default retention for new owners, days; 0 = delete right after confirmed upload. */
    retentionDays: number;
    /** Master switch for uploads from this device. */
    uploadsEnabled: boolean;
    /** Whether recordings may be offered for human review (still requires the owner's consent). */
    humanReview: boolean;
  };
  uplink: {
    /** mqtt:// or mqtts:// URL; empty string disables the uplink. */
    brokerUrl: string;
    /** Paths to PEM files (TLS). Empty = not used. */
    caFile: string;
    certFile: string;
    keyFile: string;
    /** MQTT 5 session expiry for Clean Start = false. */
    sessionExpirySec: number;
    keepaliveSec: number;
    /** Max unacknowledged publishes. */
    maxInFlight: number;
    reconnectMinMs: number;
    reconnectMaxMs: number;
  };
  fleet: {
    /** Pinned Ed25519 public keys (PEM, SPKI) allowed to sign fleet config. */
    publicKeys: string[];
  };
  log: {
    level: LogLevel;
  };
  /** The owners' page, hosted by the daemon (`earshot web` serves it on its own). */
  web: {
    enabled: boolean;
    /** 127.0.0.1 = this device only; any other address needs TLS (certFile/keyFile, or `earshot web cert`). */
    host: string;
    port: number;
    /** PEM certificate and key; empty = the device certificate made by `earshot web cert`, when one is needed. */
    certFile: string;
    keyFile: string;
  };
}
