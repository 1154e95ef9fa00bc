/**
 * The wake loop's health, saved by the daemon for `earshot status` (another process): how much audio was
 * processed, whether a backlog built up, and when this was last true. Non-personal: counts and times only.
 */
import type { SettingsRepo } from './core/ports.js';
import type { WakeLoopMetrics } from './wakeword/index.js';

export const WAKE_HEALTH_KEY = 'wake.health';
/** A snapshot older than this means no daemon is listening right now. */
const STALE_MS = 30_000;

export interface WakeHealth {
  /** False once the daemon has stopped cleanly. */
  running: boolean;
  source: string;
  words: string[];
  framesProcessed: number;
  backlogFrames: number;
  maxBacklogFrames: number;
  maxLagMs: number;
  detections: number;
  at: number;
}

export async function saveWakeHealth(
  settings: SettingsRepo,
  state: { running: boolean; source: string; words: string[] },
  m: WakeLoopMetrics,
  at: number,
): Promise<void> {
  const { running, source, words } = state;
  const h: WakeHealth = {
    running,
    source,
    words,
    framesProcessed: m.framesProcessed,
    backlogFrames: m.backlogFrames,
    maxBacklogFrames: m.maxBacklogFrames,
    maxLagMs: Math.round(m.maxLagMs),
    detections: m.detections,
    at,
  };
  await settings.set(WAKE_HEALTH_KEY, JSON.stringify(h));
}

export async function readWakeHealth(settings: SettingsRepo, now: number): Promise<(WakeHealth & { stale: boolean }) | undefined> {
  const raw = await settings.get(WAKE_HEALTH_KEY);
  if (!raw) return undefined;
  let h: WakeHealth;
  try {
    h = JSON.parse(raw) as WakeHealth;
  } catch {
    return undefined; // an unreadable snapshot is rewritten by the next daemon within seconds; nothing else depends on it
  }
  // A daemon that was killed never wrote running=false: an old snapshot is not a listening daemon either.
  return { ...h, stale: !h.running || now - h.at > STALE_MS };
}
