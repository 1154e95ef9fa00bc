/**
 * Memory does not grow with the input (issue 10 §4): a 2-hour WAV replay and a 4-hour stdin flood through the
 * real `earshot run` stay within 200 MB peak RSS. Inputs are generated on the fly (silence), never committed.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureLongInput } from '../../src/bench/long-input.js';

const CLI = path.resolve(__dirname, '../../dist/cli/main.js');

describe('earshot run on long inputs', () => {
  it('replays a 2-hour WAV file within 200 MB peak RSS (read, converted and processed block by block)', async () => {
    const r = await measureLongInput('file', 2 * 3600, CLI);
    expect(r.framesProcessed).toBe((2 * 3600 * 16000) / 1280);
    expect(r.peakRssMb).toBeLessThanOrEqual(200);
  }, 180_000);

  it('takes a 4-hour stdin flood within 200 MB peak RSS: reading pauses while the wake loop is behind', async () => {
    const r = await measureLongInput('stdin', 4 * 3600, CLI);
    expect(r.framesProcessed).toBe((4 * 3600 * 16000) / 1280);
    // The backlog is capped (10 s of audio = 125 frames, plus the chunk in hand), not the whole input.
    expect(r.maxBacklogFrames).toBeLessThan(200);
    expect(r.peakRssMb).toBeLessThanOrEqual(200);
  }, 300_000);
});
