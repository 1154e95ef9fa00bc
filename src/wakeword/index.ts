/** Public API of the wake-word side: the streaming openWakeWord pipeline (WakeDetector), the wake loop, detector state, scoring of clips, model verification. */
export {
  WakeDetector,
  loadWakeModels,
  resolveManifest,
  DEFAULT_PHASES,
  DEFAULT_QUIET_RMS,
  SECOND_LOOK,
  DEFAULT_THRESHOLD,
  type WakeDetectorOptions,
  type LoadedWakeModels,
  type DetectorFrame,
} from './wake-detector.js';
export {
  featuresOfEnrolmentClip,
  featuresOfBackground,
  featuresOfEnrolmentClipWithNoisyCopies,
  noisyCopySeed,
  featuresOfPartialPhrases,
  DEFAULT_PARTIAL_PHRASE_FRACTIONS,
  DEFAULT_PARTIAL_PHRASE_MIN_SCORE,
  type PartialPhraseOptions,
  type PartialPhraseFeatures,
  DEFAULT_NOISY_COPY_SNRS_DB,
  type EnrolmentFeatures,
  type EnrolmentFeaturesWithCopies,
  type NoisyCopyOptions,
  type EnrolmentFeatureOptions,
  type BackgroundFeatureOptions,
} from './enrolment-features.js';
export { DetectorState, DEFAULT_REFRACTORY_MS, type WakeDetection, type DetectorStateOptions, type DetectorWord, type FrameInput } from './detector-state.js';
export { WakeLoop, type WakeLoopMetrics, type WakeLoopOptions, type FrameProcessor } from './wake-loop.js';
export { WakeScorer, type ScoreFrame, type WakeScorerOptions } from './wake-scorer.js';
export { SecondLookGate, DEFAULT_SECOND_LOOK_HOLD_CHUNKS, type SecondLookSettings } from './second-look-gate.js';
export { SECOND_LOOK_PHASES } from './second-look.js';
export { scoreClip, collectScores, type ClipScores } from './score-clip.js';
export { verifyModels } from './verify-models.js';
export { openModel, ort } from './onnx-sessions.js';
export type { Session } from './onnx-sessions.js';
export { WindowFeatureStream, embeddingsOfClipWindow } from './window-feature-stream.js';
export { loadMelSpectrogram, openOnnxMelSpectrogram, OnnxMelSpectrogram, type MelSpectrogram } from './mel-spectrogram.js';
export { FftMelSpectrogram, melParametersOf, type MelParameters } from './fft-mel-spectrogram.js';
export { warmupNoise, seededRandom } from './noise.js';
export { voicedSpan, truncatedPhrase, type VoicedSpan, type TruncatedPhrase } from './partial-phrase.js';
export { pinkNoise, withPinkNoise, activeSpeechLevel } from './pink-noise.js';
export { EmbeddingStepper } from './embedding-stepper.js';
export { SwappableDetector } from './swappable-detector.js';
export { NoiseSuppressor, DEFAULT_NOISE_SUPPRESSION_DB, NOISE_SUPPRESSION_DB_RANGE, NOISE_SUPPRESSION_FRAME_SAMPLES } from './noise-suppressor.js';
export { NoiseFloor, NOISE_FLOOR_DEFAULTS, rmsOf, type NoiseFloorOptions } from './noise-floor.js';
