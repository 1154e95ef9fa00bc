/** What the daemon tells its operator (the CLI prints these as lines or JSON). No audio, names or paths. */
import type { Capture } from '../core/index.js';
import type { FleetReceiveResult } from '../fleet/index.js';
import type { WakeLoopMetrics } from '../wakeword/index.js';

export type DaemonEvent =
  | { type: 'listening'; startupMs: number; words: string[]; source: string }
  /**
   * `owner`: whose the capture is — the active owner's, the owner who claimed the word ('claimer'), nobody's
   * ('none': nobody active), or 'withheld' (an owner's claims do not open: not captured, an incident).
   */
  | { type: 'wake'; wakeword: string; score: number; atMs: number; owner: 'active' | 'claimer' | 'none' | 'withheld' }
  | { type: 'captured'; recordingId: string; wakeword: string; atMs: number; durationMs: number; endReason: Capture['endReason']; queued: boolean }
  | { type: 'discarded'; wakeword: string; atMs: number; reason: string }
  | { type: 'stored-failed'; recordingId: string; error: string }
  | { type: 'fleet'; result: FleetReceiveResult['status']; target: string | null; version: number | null; reason?: string }
  | { type: 'source-failed'; error: string; retryInMs: number }
  /** A service failed; it is restarted after `retryInMs` (undefined: not restarted, the others keep running). */
  | { type: 'service-failed'; service: string; error: string; retryInMs?: number }
  /** The input ended with half a sample (stdin): it was dropped. */
  | { type: 'input-truncated'; droppedBytes: number }
  | { type: 'stopped'; metrics: WakeLoopMetrics; captures: number; reason: 'input-ended' | 'signal' | 'failed' };
