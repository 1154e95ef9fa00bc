/**
 * The wake service's side of wake words per owner, with a scripted detector and fake data (no models): the
 * route decides whose the capture is, a withheld or ownerless wake captures nothing, and a wake fired by a
 * detector built before the owners' thresholds changed is judged by the threshold of the owner it routes to now.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type DeviceConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Capture } from '../../src/core/recording.js';
import type { DaemonData, DaemonEvent } from '../../src/daemon/index.js';
import { WakeService } from '../../src/daemon/wake-service.js';
import type { WakeRoute } from '../../src/privacy/index.js';
import type { VerifierModel } from '../../src/verifier/index.js';
import type { WakeDetection } from '../../src/wakeword/index.js';

const CHUNK = 1280;

function scripted(detections: Map<number, WakeDetection>) {
  let n = 0;
  return {
    push: async (_s: Int16Array) => {
      const d = detections.get(n++);
      return d ? [d] : [];
    },
  };
}

interface RunOptions {
  route: (word: string) => WakeRoute;
  detections: Map<number, WakeDetection>;
  thresholds: () => Record<string, number>;
  /** Per word, whose settings (default: owner A for every word). */
  owners?: Record<string, { ownerId: string; threshold?: number; verifierGate?: number }>;
  verifiers?: Record<string, Record<string, VerifierModel>>;
}

async function runWith(opts: RunOptions) {
  const stored: { ownerId: string; wakeword: string }[] = [];
  const events: DaemonEvent[] = [];
  const built: DeviceConfig['wake'][] = [];
  const builtVerifiers: Record<string, VerifierModel>[] = [];
  const config = defaultConfig();
  config.wake.words = [{ name: 'alexa' }, { name: 'hey_jarvis' }];
  const data = {
    routeWake: async (w: string) => opts.route(w),
    wakeOwners: async (words: string[]) =>
      Object.fromEntries(words.map((w) => [w, opts.owners?.[w] ?? { ownerId: 'own-aaaaaaaaaaaaaaaa', ...(opts.thresholds()[w] !== undefined ? { threshold: opts.thresholds()[w] } : {}) }])),
    verifiersFor: async (ownerId: string) => opts.verifiers?.[ownerId] ?? {},
    storeCapture: async (ownerId: string, c: Capture) => {
      stored.push({ ownerId, wakeword: c.wakeword });
      return { queued: false };
    },
  } as unknown as DaemonData;
  const chunks = 120;
  const svc = new WakeService({
    data,
    buildDetector: async (wake, verifiers) => {
      built.push(structuredClone(wake));
      builtVerifiers.push(verifiers);
      // Only the first detector has a script: a rebuilt one hears nothing more.
      return { processor: scripted(built.length === 1 ? opts.detections : new Map()), words: wake.words.map((w) => w.name) };
    },
    live: () => config,
    // Loud "speech" everywhere: every admitted wake becomes a capture when the input ends.
    vad: { process: () => 0.9, reset: () => {} },
    clock: { now: () => 1_000 },
    openSource: async () =>
      (async function* () {
        for (let i = 0; i < chunks; i++) yield new Int16Array(CHUNK).fill(1000);
      })(),
    replay: true,
    uplinkEnabled: () => false,
    emit: (e) => events.push(e),
    logger: silentLogger,
  });
  await svc.start();
  await svc.run(new AbortController().signal);
  return { stored, events, built, builtVerifiers };
}

const wake = (wakeword: string, score: number, atMs: number): WakeDetection => ({ wakeword, score, atMs });

describe('the wake service routes each wake', () => {
  it('to the claimer or the active owner; withheld and ownerless wakes capture nothing', async () => {
    const routes: Record<string, WakeRoute> = {
      alexa: { kind: 'owner', ownerId: 'own-aaaaaaaaaaaaaaaa', by: 'claim' },
      hey_jarvis: { kind: 'withheld', reason: 'claims-unreadable', ownerIds: ['own-bbbbbbbbbbbbbbbb'] },
    };
    const { stored, events } = await runWith({ route: (w) => routes[w]!, detections: new Map([[5, wake('alexa', 0.9, 400)], [60, wake('hey_jarvis', 0.9, 4800)]]), thresholds: () => ({}) });
    expect(events.filter((e) => e.type === 'wake').map((e) => (e as { owner: string }).owner)).toEqual(['claimer', 'withheld']);
    expect(stored).toEqual([{ ownerId: 'own-aaaaaaaaaaaaaaaa', wakeword: 'alexa' }]);

    const none = await runWith({ route: () => ({ kind: 'none' }), detections: new Map([[5, wake('alexa', 0.9, 400)]]), thresholds: () => ({}) });
    expect(none.stored).toEqual([]);
    expect(none.events.filter((e) => e.type === 'wake').map((e) => (e as { owner: string }).owner)).toEqual(['none']);
  });

  it("a wake below the threshold of the owner it routes to now is discarded (the detector predates the change) and the detector is rebuilt", async () => {
    let thresholds: Record<string, number> = {};
    const detections = new Map([[5, wake('alexa', 0.55, 400)]]);
    const route = (): WakeRoute => {
      // The owner set a stricter threshold after the detector was built.
      thresholds = { alexa: 0.7 };
      return { kind: 'owner', ownerId: 'own-aaaaaaaaaaaaaaaa', by: 'active' };
    };
    const { stored, events, built } = await runWith({ route, detections, thresholds: () => thresholds });
    expect(stored).toEqual([]);
    expect(events.filter((e) => e.type === 'discarded')).toEqual([{ type: 'discarded', wakeword: 'alexa', atMs: 400, reason: 'below-owner-threshold' }]);
    expect(built.map((w) => w.words)).toEqual([
      [{ name: 'alexa' }, { name: 'hey_jarvis' }],
      [{ name: 'alexa', threshold: 0.7 }, { name: 'hey_jarvis' }],
    ]);
  });

  it("each word gets the verifier of the owner it routes to, at that owner's gate, never above the word's threshold", async () => {
    const A = 'own-aaaaaaaaaaaaaaaa';
    const B = 'own-bbbbbbbbbbbbbbbb';
    const model = (wakeword: string, gate: number, trainedAt: number) => ({ wakeword, gate, trainedAt, bias: 0 }) as unknown as VerifierModel;
    const { builtVerifiers, built } = await runWith({
      route: () => ({ kind: 'none' }),
      detections: new Map(),
      thresholds: () => ({}),
      // Alice claimed alexa (her threshold 0.25, gate 0.3: clamped to 0.25); hey_jarvis routes to Bob (active).
      owners: { alexa: { ownerId: A, threshold: 0.25, verifierGate: 0.3 }, hey_jarvis: { ownerId: B } },
      verifiers: { [A]: { alexa: model('alexa', 0.1, 1), hey_jarvis: model('hey_jarvis', 0.1, 2) }, [B]: { alexa: model('alexa', 0.2, 3), hey_jarvis: model('hey_jarvis', 0.15, 4) } },
    });
    expect(built[0]!.words).toEqual([{ name: 'alexa', threshold: 0.25 }, { name: 'hey_jarvis' }]);
    const v = builtVerifiers[0]!;
    expect(Object.keys(v).sort()).toEqual(['alexa', 'hey_jarvis']);
    expect([v['alexa']!.trainedAt, v['alexa']!.gate]).toEqual([1, 0.25]);
    expect([v['hey_jarvis']!.trainedAt, v['hey_jarvis']!.gate]).toEqual([4, 0.15]);
  });
});
