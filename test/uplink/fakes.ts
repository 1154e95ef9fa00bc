/** Helpers for the uplink tests; the in-memory ports themselves live in src/uplink/testing/memory-ports.ts. */
import type { OutboxRepo } from '../../src/core/ports.js';
import type { Recording } from '../../src/core/recording.js';
import type { MemoryRecordings } from '../../src/uplink/testing/memory-ports.js';

export { MemoryAudit, MemoryOutbox, MemoryRecordings, MemorySettings, ScriptedGate } from '../../src/uplink/testing/memory-ports.js';

let seq = 0;
/** A recording of `ms` milliseconds of a quiet tone (content is irrelevant; its bytes are checked on arrival). */
export function makeRecording(ownerId: string, startedAt: number, ms = 200, deviceId = 'spk-1'): Recording {
  const n = Math.round((16_000 * ms) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 16_000));
  seq++;
  return {
    id: `rec-${startedAt}-${seq}-${Math.random().toString(36).slice(2, 8)}`,
    ownerId,
    deviceId,
    wakeword: 'hey_jarvis',
    score: 0.93,
    startedAt,
    wakeAtMs: 0,
    durationMs: ms,
    endReason: 'end-of-speech',
    pcm,
  };
}

/** Store a recording and queue it, as the daemon does after a capture. */
export async function queueRecording(outbox: OutboxRepo, recs: MemoryRecordings, r: Recording, enqueuedAt = r.startedAt): Promise<void> {
  recs.add(r);
  await outbox.enqueue({ recordingId: r.id, ownerId: r.ownerId, capturedAt: r.startedAt, enqueuedAt });
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
