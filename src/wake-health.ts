/**
 * The wake loop's health, saved by the daemon in the settings table for `earshot status` when no daemon is
 * running: how much audio was processed, whether a backlog built up, and when. Non-personal only: the kind of
 * source (never a file path) and counts — not the wake words, which say what the household says.
 */
import type { SettingsRepo } from './core/index.js';
import type { WakeLoopMetrics } from './wakeword/index.js';

export const WAKE_HEALTH_KEY = 'wake.health';
/** A snapshot older than this means no daemon is listening right now. */
const STALE_MS = 30_000;

export type WakeSourceKind = 'microphone' | 'file' | 'stdin';

export interface WakeHealth {
  /** False once the daemon has stopped cleanly. */
  running: boolean;
  source: WakeSourceKind;
  framesProcessed: number;
  backlogFrames: number;
  maxBacklogFrames: number;
  maxLagMs: number;
  detections: number;
  at: number;
}

export async function saveWakeHealth(
  settings: SettingsRepo,
  state: { running: boolean; source: WakeSourceKind },
  m: WakeLoopMetrics,
  at: number,
): Promise<void> {
  const h: WakeHealth = {
    running: state.running,
    source: state.source,
    framesProcessed: m.framesProcessed,
    backlogFrames: m.backlogFrames,
    maxBacklogFrames: m.maxBacklogFrames,
    maxLagMs: Math.round(m.maxLagMs),
    detections: m.detections,
    at,
  };
  await settings.set(WAKE_HEALTH_KEY, JSON.stringify(h));
}

const SOURCES: ReadonlySet<string> = new Set(['microphone', 'file', 'stdin']);

export async function readWakeHealth(settings: SettingsRepo, now: number): Promise<(WakeHealth & { stale: boolean }) | undefined> {
  const raw = await settings.get(WAKE_HEALTH_KEY);
  if (!raw) return undefined;
  let h: WakeHealth;
  try {
    h = JSON.parse(raw) as WakeHealth;
  } catch {
    return undefined; // an unreadable snapshot is rewritten by the next daemon within seconds; nothing else depends on it
  }
  // Only the non-personal fields are read back (a snapshot written by an older version may hold more).
  const clean: WakeHealth = {
    running: h.running === true,
    source: SOURCES.has(h.source) ? h.source : 'file',
    framesProcessed: Number(h.framesProcessed) || 0,
    backlogFrames: Number(h.backlogFrames) || 0,
    maxBacklogFrames: Number(h.maxBacklogFrames) || 0,
    maxLagMs: Number(h.maxLagMs) || 0,
    detections: Number(h.detections) || 0,
    at: Number(h.at) || 0,
  };
  // A daemon that was killed never wrote running=false: an old snapshot is not a listening daemon either.
  return { ...clean, stale: !clean.running || now - clean.at > STALE_MS };
}
