/**
 * Post-wake capture: only the audio after a wake word, until end of speech, max length or no-speech timeout.
 *
 * Wiring in the daemon (with the Silero wrapper from src/vad):
 *
 *   const vad = await SileroVad.create(manifest);
 *   const capture = new CaptureSession<OwnedWake>({   // OwnedWake: a WakeEvent plus what the caller attaches
 *     vad: (chunk640) => vad.process(chunk640),
 *     resetVad: () => vad.reset(),          // fresh recurrent state for each capture
 *     settings: config.capture,             // endSilenceMs, maxMs, noSpeechTimeoutMs, vadThreshold
 *   });
 *   new WakeLoop(detector, {
 *     admit: async (d) => ({ ...d, ownerId }),  // decided at the wake; undefined drops the detection
 *     onProcessed: async (samples, wakes) => {
 *       for (const o of await capture.processChunk(samples, wakes)) store(o.wake.ownerId, o);   // finished / discarded
 *     },
 *   });
 *   // processChunk must see every chunk the detector processed, in order, with the detections that chunk
 *   // produced; it cuts the chunk at each detection's atMs. At the end of the stream: await capture.end().
 *   // A detection reported after its chunk has passed starts the capture at the next chunk (never earlier).
 *
 * If the VAD already runs on every frame (e.g. for the wake VAD gate), use CaptureStateMachine directly:
 * `wake(detection)` then `push(frame, [pFirstHalf, pSecondHalf])` for each frame after the detecting one,
 * only while `wantsAudio` is true.
 */
export {
  CaptureStateMachine,
  VAD_CHUNK_SAMPLES,
  SILENCE_HYSTERESIS,
  type CaptureSettings,
  type CaptureState,
  type CaptureStep,
  type DiscardReason,
  type WakeEvent,
} from './capture-state-machine.js';
export { CaptureSession, type CaptureOutcome, type CaptureSessionOptions, type SpeechProbabilityFn } from './capture-session.js';
