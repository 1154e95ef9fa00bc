import { describe, expect, it } from 'vitest';
import { DRAIN_PROGRESS_KEY, RateMeter, describeDrain, processAlive, readDrainProgress } from '../../src/uplink/drain-progress.js';
import { MemoryOutbox, MemorySettings } from './fakes.js';

const snapshot = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ running: true, pid: process.pid, queued: 9, inFlight: 2, published: 12, sent: 10, failed: 1, held: 0, withdrawn: 3, ratePerS: 4.5, connected: true, link: 'connected', lastError: null, at: 1_700_000_000_000, ...over });

describe('drain progress', () => {
  it('RateMeter counts confirmations per second over its window and forgets older ones', () => {
    const m = new RateMeter(10_000);
    for (let i = 0; i < 50; i++) m.mark(1000 + i * 100); // 50 in 5 s
    expect(m.perSecond(6000)).toBe(5);
    expect(m.perSecond(12_000)).toBe(4); // the 40 marks at or after t = 2000 remain in the window
    expect(m.perSecond(30_000)).toBe(0);
  });

  it('`earshot status` reads the live queue depth plus the running daemon snapshot', async () => {
    const settings = new MemorySettings();
    const outbox = new MemoryOutbox();
    await outbox.enqueue({ recordingId: 'r1', ownerId: 'o', capturedAt: 1, enqueuedAt: 1 });
    const none = await readDrainProgress(settings, outbox);
    expect(none).toMatchObject({ queued: 1, sent: 0, connected: false, link: 'not-connected', running: false, stale: true });
    await settings.set(DRAIN_PROGRESS_KEY, snapshot());
    const live = await readDrainProgress(settings, outbox);
    expect(live).toMatchObject({ queued: 1, inFlight: 2, sent: 10, failed: 1, withdrawn: 3, ratePerS: 4.5, connected: true, link: 'connected', running: true, stale: false });
    // An old snapshot is not stale by age: the daemon writes on change, so a quiet live uplink writes nothing.
    await settings.set(DRAIN_PROGRESS_KEY, snapshot({ at: 1 }));
    expect((await readDrainProgress(settings, outbox)).stale).toBe(false);
    await settings.set(DRAIN_PROGRESS_KEY, 'not json');
    expect(await readDrainProgress(settings, outbox)).toMatchObject({ queued: 1, sent: 0, stale: true });
  });

  it('a stopped uplink, or one whose daemon died, shows its last counters but nothing in flight and not connected', async () => {
    const settings = new MemorySettings();
    const outbox = new MemoryOutbox();
    await settings.set(DRAIN_PROGRESS_KEY, snapshot({ running: false, inFlight: 5 }));
    expect(await readDrainProgress(settings, outbox)).toMatchObject({ running: false, stale: true, inFlight: 0, sent: 10, link: 'not-connected', connected: false, ratePerS: 0 });
    // SIGKILLed: the snapshot still says running, but its process is gone.
    await settings.set(DRAIN_PROGRESS_KEY, snapshot({ inFlight: 5 }));
    const dead = await readDrainProgress(settings, outbox, () => false);
    expect(dead).toMatchObject({ running: false, stale: true, inFlight: 0, link: 'not-connected' });
    expect(dead.ended).toBe('process-gone');
    expect(describeDrain(dead)).toBe('0 queued, 0 in flight, 10 sent, 1 refused/retrying (no daemon draining; its daemon ended without stopping, last update 2023-11-14T22:13:20.000Z)');
    await settings.set(DRAIN_PROGRESS_KEY, snapshot({ running: false }));
    const stopped = await readDrainProgress(settings, outbox);
    expect(stopped.ended).toBe('stopped');
    expect(describeDrain(stopped)).toBe('0 queued, 0 in flight, 10 sent, 1 refused/retrying (no daemon draining; uplink stopped 2023-11-14T22:13:20.000Z)');
    const never = await readDrainProgress(new MemorySettings(), outbox);
    expect(never.ended).toBe('never');
    expect(describeDrain(never)).toBe('0 queued, 0 in flight, 0 sent, 0 refused/retrying (no daemon draining)');
  });

  it('status tells "connected, broker not acknowledging" apart from "not connected"', async () => {
    const settings = new MemorySettings();
    const outbox = new MemoryOutbox();
    await settings.set(DRAIN_PROGRESS_KEY, snapshot({ link: 'not-acknowledging', inFlight: 4, sent: 0, ratePerS: 0 }));
    const d = await readDrainProgress(settings, outbox);
    expect(d).toMatchObject({ link: 'not-acknowledging', connected: true });
    expect(describeDrain(d)).toBe('0 queued, 4 in flight, 0 sent, 1 refused/retrying, 0.0/s, broker connected but not acknowledging');
    await settings.set(DRAIN_PROGRESS_KEY, snapshot({ link: 'not-connected', connected: false }));
    expect(describeDrain(await readDrainProgress(settings, outbox))).toMatch(/, broker not connected$/);
  });

  it('processAlive: this process yes, a pid that cannot exist no', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(0)).toBe(false);
    expect(processAlive(2 ** 30)).toBe(false);
  });
});
