import { describe, expect, it } from 'vitest';
import { DRAIN_PROGRESS_KEY, RateMeter, readDrainProgress } from '../../src/uplink/drain-progress.js';
import { MemoryOutbox, MemorySettings } from './fakes.js';

describe('drain progress', () => {
  it('RateMeter counts confirmations per second over its window and forgets older ones', () => {
    const m = new RateMeter(10_000);
    for (let i = 0; i < 50; i++) m.mark(1000 + i * 100); // 50 in 5 s
    expect(m.perSecond(6000)).toBe(5);
    expect(m.perSecond(12_000)).toBe(4); // the 40 marks at or after t = 2000 remain in the window
    expect(m.perSecond(30_000)).toBe(0);
  });

  it('`earshot status` reads the live queue depth plus the daemon snapshot, and flags a stale one', async () => {
    const settings = new MemorySettings();
    const outbox = new MemoryOutbox();
    await outbox.enqueue({ recordingId: 'r1', ownerId: 'o', capturedAt: 1, enqueuedAt: 1 });
    const none = await readDrainProgress(settings, outbox);
    expect(none).toMatchObject({ queued: 1, sent: 0, connected: false, stale: true });
    await settings.set(DRAIN_PROGRESS_KEY, JSON.stringify({ queued: 9, inFlight: 2, published: 12, sent: 10, failed: 1, held: 0, withdrawn: 3, ratePerS: 4.5, connected: true, lastError: null, at: Date.now() }));
    const live = await readDrainProgress(settings, outbox);
    expect(live).toMatchObject({ queued: 1, inFlight: 2, sent: 10, failed: 1, withdrawn: 3, ratePerS: 4.5, connected: true, stale: false });
    await settings.set(DRAIN_PROGRESS_KEY, 'not json');
    expect(await readDrainProgress(settings, outbox)).toMatchObject({ queued: 1, sent: 0, stale: true });
  });
});
