import { describe, it, expect } from 'vitest';
import { CaptureSession } from '../../src/capture/capture-session.js';
import type { Capture } from '../../src/core/recording.js';

const SETTINGS = { endSilenceMs: 700, maxMs: 10_000, noSpeechTimeoutMs: 3_000, vadThreshold: 0.5 };
const WAKE = { wakeword: 'hey_jarvis', score: 0.9, atMs: 1000 };

/** A fake VAD: "speech" when the chunk's samples are loud. Records what it was shown. */
function fakeVad() {
  const seen: Int16Array[] = [];
  let resets = 0;
  return {
    seen,
    get resets() {
      return resets;
    },
    vad: async (chunk: Int16Array) => {
      seen.push(chunk.slice());
      return Math.abs(chunk[0]!) >= 1000 ? 0.95 : 0.02;
    },
    reset: () => {
      resets++;
    },
  };
}

describe('CaptureSession', () => {
  it('does not run the VAD (or look at audio) while listening; after a wake it scores each 640-sample half', async () => {
    const v = fakeVad();
    const stored: Capture[] = [];
    const s = new CaptureSession({ vad: v.vad, resetVad: v.reset, settings: SETTINGS });
    for (let i = 0; i < 20; i++) expect(await s.pushFrame(new Int16Array(1280).fill(12345))).toEqual({ kind: 'idle' });
    expect(v.seen.length).toBe(0);
    expect(await s.wake(WAKE)).toBe(true);
    expect(v.resets).toBe(1);

    const first = new Int16Array(1280).map((_, i) => (i < 640 ? 2000 : 100));
    expect(await s.pushFrame(first)).toEqual({ kind: 'capturing' });
    expect(v.seen.map((c) => [c.length, c[0]])).toEqual([
      [640, 2000],
      [640, 100],
    ]);
    expect(await s.wake({ ...WAKE, wakeword: 'alexa' })).toBe(false);
    expect(v.resets).toBe(1);

    let step;
    let n = 0;
    do step = await s.pushFrame(new Int16Array(1280).fill(++n < 5 ? 3000 : 0));
    while (step.kind === 'capturing');
    expect(step.kind).toBe('finished');
    if (step.kind === 'finished') stored.push(step.capture);
    // The outcome carries the wake that started it, as a value.
    expect(step).toMatchObject({ wake: WAKE });
    expect(stored.length).toBe(1);
    expect(stored[0]!.pcm.includes(12345)).toBe(false);
    expect(stored[0]!.pcm[0]).toBe(2000);
    expect(s.state).toBe('listening');
    expect(s.heldSamples).toBe(0);
  });

  it('zero-pads a short last frame for the VAD and finishes at stream end', async () => {
    const v = fakeVad();
    const s = new CaptureSession({ vad: v.vad, settings: SETTINGS });
    await s.wake(WAKE);
    await s.pushFrame(new Int16Array(1280).fill(5000));
    await s.pushFrame(new Int16Array(700).fill(5000));
    expect(v.seen.map((c) => c.length)).toEqual([640, 640, 640, 640]);
    expect(v.seen[3]!.subarray(60).every((x) => x === 0)).toBe(true);
    const end = await s.end();
    expect(end.kind).toBe('finished');
    if (end.kind === 'finished') expect(end.capture.pcm.length).toBe(1980);
  });
});

describe('CaptureSession.processChunk (chunks of any size, wake events placed by atMs)', () => {
  const MARK = -7;
  /** The stream: marker before the wake at sample 32 640 (2.04 s), 1 s of "speech", then silence. */
  const WAKE_AT = 32_640;
  const valueAt = (i: number) => (i < WAKE_AT ? MARK : i < WAKE_AT + 16_000 ? 3000 + (i % 100) : 0);
  const stream = (n: number) => Int16Array.from({ length: n }, (_, i) => valueAt(i));

  async function run(chunkSize: number, detectionsAt: number[]) {
    const v = fakeVad();
    const s = new CaptureSession<typeof WAKE & { owner: number }>({ vad: v.vad, resetVad: v.reset, settings: SETTINGS });
    const all = stream(5 * 16000);
    const outcomes = [];
    let vadCallsBeforeWake = -1;
    for (let pos = 0; pos < all.length; pos += chunkSize) {
      const chunk = all.subarray(pos, pos + chunkSize);
      const end = pos + chunk.length;
      const dets = detectionsAt.filter((ms) => ms * 16 > pos && ms * 16 <= end).map((ms) => ({ ...WAKE, atMs: ms, owner: ms }));
      if (dets.length > 0 && vadCallsBeforeWake < 0) vadCallsBeforeWake = v.seen.length;
      outcomes.push(...(await s.processChunk(chunk, dets)));
    }
    const last = await s.end();
    if (last.kind !== 'idle') outcomes.push(last);
    const stored = outcomes.flatMap((o) => (o.kind === 'finished' ? [o.capture] : []));
    return { outcomes, stored, vadCallsBeforeWake, session: s };
  }

  for (const chunkSize of [1280, 1000, 4000, 333]) {
    it(`captures exactly the samples after the detecting frame (chunks of ${chunkSize})`, async () => {
      const { outcomes, stored, vadCallsBeforeWake, session } = await run(chunkSize, [2040]);
      expect(vadCallsBeforeWake).toBe(0);
      expect(outcomes[0]).toMatchObject({ kind: 'finished' });
      expect(stored.length).toBe(1);
      const pcm = stored[0]!.pcm;
      expect(pcm.includes(MARK)).toBe(false);
      expect(pcm.length).toBe(16_000 + 3200);
      for (let k = 0; k < pcm.length; k += 97) expect(pcm[k]).toBe(valueAt(WAKE_AT + k));
      expect(stored[0]!.wakeAtMs).toBe(2040);
      expect(session.heldSamples).toBe(0);
    });
  }

  it('ignores a second detection during the capture and starts a new capture after it ends', async () => {
    // 2.04 s: wake; 2.5 s: ignored (capturing); 3.9 s: capture over, new wake → only silence follows → discarded.
    const { outcomes, stored } = await run(1000, [2040, 2500, 3900]);
    expect(stored.length).toBe(1);
    expect(outcomes.map((o) => o.kind)).toEqual(['finished', 'discarded']);
    expect(outcomes[1]).toMatchObject({ reason: 'stream-end', wakeAtMs: 3900 });
    // Each outcome carries the value attached to the wake that started it (the daemon's owner at wake time).
    expect(outcomes.map((o) => o.wake.owner)).toEqual([2040, 3900]);
  });
});
