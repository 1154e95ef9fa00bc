/**
 * What the audio side produces: the audio captured *after* a wake word, and nothing else.
 * It carries no owner: the composition root tags it with the owner active at wake time before storing.
 */
export interface Capture {
  /** Opaque random id (UUID v4); also the uplink idempotency key. */
  readonly id: string;
  readonly wakeword: string;
  readonly score: number;
  /** Wall-clock epoch ms of the first captured sample (just after the wake word's detecting frame). */
  readonly startedAt: number;
  /** Audio-time ms (since stream start) at which the wake word was detected. */
  readonly wakeAtMs: number;
  readonly durationMs: number;
  /** Why the capture ended. */
  readonly endReason: 'end-of-speech' | 'max-length' | 'stream-end';
  /** 16 kHz mono int16. */
  readonly pcm: Int16Array;
  /**
   * The wake detection's classifier input window at the detecting frame (embedding features, not audio; see
   * WakeDetection.features). Stored sealed with the recording so that flagging it as a false wake later makes it a
   * negative example for the owner's verifier; it is deleted with the recording and never uploaded.
   */
  readonly wakeFeatures?: Float32Array;
}

/**
 * A capture bound to the owner who was active when it was captured, on this device. Opening a recording never
 * returns its wake features (RecordingRepo.wakeFeatures does, for its owner only): what is opened to play or upload
 * has no field for them.
 */
export interface Recording extends Omit<Capture, 'wakeFeatures'> {
  readonly ownerId: string;
  readonly deviceId: string;
}
