import { describe, it, expect } from 'vitest';
import { CaptureStateMachine, type CaptureSettings, type CaptureStep } from '../../src/capture/capture-state-machine.js';
import type { Capture } from '../../src/core/recording.js';

const SETTINGS: CaptureSettings = { endSilenceMs: 700, maxMs: 10_000, noSpeechTimeoutMs: 3_000, vadThreshold: 0.5 };
const SPEECH = [0.9, 0.9];
const SILENCE = [0.05, 0.05];
const MARKER = -12345; // never produced by `counting`

const frame = (value: number, samples = 1280) => new Int16Array(samples).fill(value);
/** A frame whose samples carry their own position, so the order of captured audio can be checked. */
const counting = (start: number) => new Int16Array(1280).map((_, i) => ((start + i) % 30000) + 1);

function machine(settings: Partial<CaptureSettings> = {}, now = 1_700_000_000_000) {
  let ids = 0;
  return new CaptureStateMachine({ ...SETTINGS, ...settings }, { clock: { now: () => now }, newId: () => `id-${++ids}` });
}

const WAKE = { wakeword: 'hey_jarvis', score: 0.93, atMs: 4240 };

function finished(step: CaptureStep): Capture {
  if (step.kind !== 'finished') throw new Error(`expected finished, got ${step.kind}`);
  return step.capture;
}

/** Feeds frames with the given per-frame probabilities; returns every step. */
function feed(m: CaptureStateMachine, frames: Array<[Int16Array, number[]]>): CaptureStep[] {
  return frames.map(([f, p]) => m.push(f, p));
}

const times = <T,>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));

describe('CaptureStateMachine: pre-wake audio', () => {
  it('holds no audio while listening and captures only frames after the wake', () => {
    const m = machine();
    for (let i = 0; i < 50; i++) expect(m.push(frame(MARKER), SPEECH)).toEqual({ kind: 'idle' });
    expect(m.state).toBe('listening');
    expect(m.heldSamples).toBe(0);
    expect(m.wantsAudio).toBe(false);

    expect(m.wake(WAKE)).toBe(true);
    expect(m.wantsAudio).toBe(true);
    const steps = feed(m, [...times(10, (i) => [counting(i * 1280), SPEECH] as [Int16Array, number[]]), ...times(9, () => [frame(0), SILENCE] as [Int16Array, number[]])]);
    const capture = finished(steps[steps.length - 1]!);
    expect(capture.pcm.includes(MARKER)).toBe(false);
    expect(Array.from(capture.pcm.subarray(0, 3))).toEqual([1, 2, 3]); // starts exactly at the first post-wake sample
    // After the capture the machine is back to holding nothing, and later frames are not looked at.
    expect(m.heldSamples).toBe(0);
    expect(m.push(frame(MARKER), SPEECH)).toEqual({ kind: 'idle' });
    expect(capture.pcm.includes(MARKER)).toBe(false);
  });

  it('a 1 kHz marker tone before the wake word appears nowhere in the capture', () => {
    const m = machine();
    const tone = (k: number) => new Int16Array(1280).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 1000 * (k * 1280 + i)) / 16000)));
    const toneFrames = times(7, tone); // 0.56 s of marker
    for (const f of toneFrames) m.push(f, SPEECH);
    m.wake(WAKE);
    let rnd = 1;
    const noise = () => new Int16Array(1280).map(() => ((rnd = (rnd * 16807) % 2147483647) % 4000) - 2000);
    const steps = feed(m, [...times(20, () => [noise(), SPEECH] as [Int16Array, number[]]), ...times(9, () => [frame(0), SILENCE] as [Int16Array, number[]])]);
    const pcm = finished(steps[steps.length - 1]!).pcm;
    // No 64-sample stretch of any marker frame occurs in the captured audio.
    const hay = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    for (const f of toneFrames) {
      for (let off = 0; off + 64 <= f.length; off += 64) {
        expect(hay.indexOf(Buffer.from(f.buffer, off * 2, 128))).toBe(-1);
      }
    }
  });
});

describe('CaptureStateMachine: when a capture ends', () => {
  it('captures a long command with pauses shorter than 700 ms whole', () => {
    const m = machine();
    m.wake(WAKE);
    // 1 s speech, 560 ms pause, 1.2 s speech, 640 ms pause (16 chunks), 0.8 s speech, then silence.
    const plan: Array<[number, number[]]> = [
      ...times(12, () => [1, SPEECH] as [number, number[]]),
      ...times(7, () => [0, SILENCE] as [number, number[]]),
      ...times(15, () => [2, SPEECH] as [number, number[]]),
      ...times(8, () => [0, SILENCE] as [number, number[]]),
      ...times(10, () => [3, SPEECH] as [number, number[]]),
      ...times(20, () => [0, SILENCE] as [number, number[]]),
    ];
    let capture: Capture | undefined;
    let framesUsed = 0;
    for (const [v, p] of plan) {
      const step = m.push(frame(v), p);
      framesUsed++;
      if (step.kind === 'finished') {
        capture = step.capture;
        break;
      }
      expect(step.kind).toBe('capturing');
    }
    expect(capture).toBeDefined();
    const speechFrames = 12 + 7 + 15 + 8 + 10;
    // It ended on the trailing silence, after the last speech, not in one of the pauses.
    expect(framesUsed).toBe(speechFrames + 9);
    expect(capture!.endReason).toBe('end-of-speech');
    // Whole: every speech sample of all three parts, with the pauses, plus 200 ms of trailing silence.
    expect(capture!.pcm.length).toBe(speechFrames * 1280 + 3200);
    const count = (v: number) => capture!.pcm.reduce((n, s) => n + (s === v ? 1 : 0), 0);
    expect([count(1), count(2), count(3)]).toEqual([12 * 1280, 15 * 1280, 10 * 1280]);
    expect(capture!.durationMs).toBe(((speechFrames * 1280 + 3200) / 16000) * 1000);
  });

  it('ends 700 ms after speech stops and trims the trailing silence to 200 ms', () => {
    const m = machine();
    m.wake(WAKE);
    const steps = feed(m, [...times(10, () => [frame(500), SPEECH] as [Int16Array, number[]]), ...times(9, () => [frame(0), SILENCE] as [Int16Array, number[]])]);
    // 700 ms = 17.5 chunks of 40 ms → reached inside the 9th silent frame, not before.
    expect(steps.slice(0, 18).every((s) => s.kind === 'capturing')).toBe(true);
    const c = finished(steps[18]!);
    expect(c.pcm.length).toBe(10 * 1280 + 3200);
    expect(c.durationMs).toBe(1000);
    expect(c.pcm.subarray(0, 12800).every((v) => v === 500)).toBe(true);
    expect(c.pcm.subarray(12800).every((v) => v === 0)).toBe(true);
  });

  it('uses Silero-style hysteresis: uncertain probabilities neither end nor restart the silence clock', () => {
    const m = machine();
    m.wake(WAKE);
    feed(m, times(5, () => [frame(1), SPEECH]));
    // 1.2 s of p = 0.4: below the speech threshold but above the silence threshold (0.35).
    const uncertain = feed(m, times(15, () => [frame(2), [0.4, 0.4]]));
    expect(uncertain.every((s) => s.kind === 'capturing')).toBe(true);
    // Silence starts here; a stray 0.4 inside it does not reset the clock.
    const tail = feed(m, [[frame(0), SILENCE], [frame(0), SILENCE], [frame(0), [0.4, 0.4]], ...times(6, () => [frame(0), SILENCE] as [Int16Array, number[]])]);
    const c = finished(tail[8]!);
    expect(c.pcm.length).toBe(20 * 1280 + 3200);
  });

  it('caps a capture at maxMs, cutting the frame that crosses it', () => {
    const m = machine({ maxMs: 10_000 });
    m.wake(WAKE);
    let step: CaptureStep = { kind: 'idle' };
    let n = 0;
    while (step.kind !== 'finished' && n < 200) {
      step = m.push(frame(9, 1920), [0.9, 0.9, 0.9]);
      n++;
    }
    const c = finished(step);
    expect(n).toBe(84); // 83 × 1920 = 159 360 < 160 000 ≤ 84 × 1920
    expect(c.endReason).toBe('max-length');
    expect(c.pcm.length).toBe(160_000);
    expect(c.durationMs).toBe(10_000);
  });

  it('discards the capture when no speech starts within noSpeechTimeoutMs', () => {
    const m = machine({ noSpeechTimeoutMs: 3000 });
    m.wake(WAKE);
    const steps = feed(m, times(40, () => [frame(MARKER), SILENCE]));
    // 3000 ms = 37.5 frames: discarded inside the 38th.
    expect(steps.slice(0, 37).every((s) => s.kind === 'awaiting-speech')).toBe(true);
    expect(steps[37]).toEqual({ kind: 'discarded', reason: 'no-speech', wakeword: 'hey_jarvis', wakeAtMs: 4240, afterMs: 3000 });
    expect(steps.slice(38).every((s) => s.kind === 'idle')).toBe(true);
    expect(m.heldSamples).toBe(0);
    expect(m.state).toBe('listening');
  });

  it('keeps the audio between the wake and a late start of speech', () => {
    const m = machine();
    m.wake(WAKE);
    const steps = feed(m, [...times(25, () => [frame(3), SILENCE] as [Int16Array, number[]]), ...times(5, () => [frame(4), SPEECH] as [Int16Array, number[]]), ...times(9, () => [frame(0), SILENCE] as [Int16Array, number[]])]);
    const c = finished(steps[steps.length - 1]!);
    expect(c.pcm.length).toBe(30 * 1280 + 3200);
    expect(c.pcm[0]).toBe(3);
  });

  it('discards on no speech even when maxMs is shorter than the no-speech timeout', () => {
    const m = machine({ maxMs: 1000, noSpeechTimeoutMs: 5000 });
    m.wake(WAKE);
    const steps = feed(m, times(13, () => [frame(1), SILENCE]));
    expect(steps[12]).toMatchObject({ kind: 'discarded', reason: 'no-speech' });
  });
});

describe('CaptureStateMachine: events and values', () => {
  it('ignores a wake word while a capture is in progress', () => {
    const m = machine();
    expect(m.wake(WAKE)).toBe(true);
    m.push(frame(1), SPEECH);
    expect(m.wake({ wakeword: 'alexa', score: 0.99, atMs: 5000 })).toBe(false);
    const steps = feed(m, [...times(3, () => [frame(1), SPEECH] as [Int16Array, number[]]), ...times(9, () => [frame(0), SILENCE] as [Int16Array, number[]])]);
    const c = finished(steps[steps.length - 1]!);
    expect(c.wakeword).toBe('hey_jarvis');
    expect(c.wakeAtMs).toBe(4240);
    expect(m.wake({ wakeword: 'alexa', score: 0.99, atMs: 9000 })).toBe(true);
  });

  it('fills the Capture: id, wake word, score, wall-clock start, audio time of the wake', () => {
    const m = new CaptureStateMachine(SETTINGS, { clock: { now: () => 1234 } });
    m.wake(WAKE);
    const steps = feed(m, [...times(3, () => [frame(1), SPEECH] as [Int16Array, number[]]), ...times(9, () => [frame(0), SILENCE] as [Int16Array, number[]])]);
    const c = finished(steps[steps.length - 1]!);
    expect(c.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(c).toMatchObject({ wakeword: 'hey_jarvis', score: 0.93, startedAt: 1234, wakeAtMs: 4240, endReason: 'end-of-speech' });
    const m2 = machine();
    m2.wake({ ...WAKE, wallMs: 99 });
    m2.push(frame(1), SPEECH);
    expect(finished(m2.end()).startedAt).toBe(99);
  });

  it('at the end of the stream keeps a capture with speech and discards one without', () => {
    const m = machine();
    m.wake(WAKE);
    m.push(frame(1), SPEECH);
    m.push(frame(1), [0.9, 0.1]);
    const c = finished(m.end());
    expect(c.endReason).toBe('stream-end');
    expect(c.pcm.length).toBe(2560); // the 40 ms of silence is within the 200 ms kept
    m.wake(WAKE);
    m.push(frame(1), SILENCE);
    expect(m.end()).toMatchObject({ kind: 'discarded', reason: 'stream-end', afterMs: 80 });
    expect(m.end()).toEqual({ kind: 'idle' });
  });

  it('cancel drops a capture in progress', () => {
    const m = machine();
    m.wake(WAKE);
    m.push(frame(1), SPEECH);
    m.cancel();
    expect(m.heldSamples).toBe(0);
    expect(m.state).toBe('listening');
  });

  it('rejects a frame without one probability per 640 samples, and nonsense settings', () => {
    const m = machine();
    m.wake(WAKE);
    expect(() => m.push(frame(1), [0.9])).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => new CaptureStateMachine({ ...SETTINGS, maxMs: 0 })).toThrow(/capture\.maxMs/);
    expect(() => new CaptureStateMachine({ ...SETTINGS, vadThreshold: 1.5 })).toThrow(/vadThreshold/);
  });
});
