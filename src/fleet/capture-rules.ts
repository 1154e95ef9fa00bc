/**
 * A fleet document may make capture less eager, never more: every wake/capture setting has a strict direction,
 * and a value on the eager side of this device's own setting would make the speaker record more of what is
 * said in the home — looser privacy, whatever the section is called. Pure functions: the check used on
 * receipt (refused as 'loosens-privacy' naming the field) and the clamp used when layering applied
 * documents, so a stored document that predates a stricter device config still cannot loosen anything.
 *
 * Raising sensitivity is the owner's choice, made in the device's own config, never a fleet's.
 */
import type { DeviceConfig, WakeWordConfig } from '../config/index.js';
import { isPlainObject } from '../config/index.js';

/** The device's own (owner-chosen) wake and capture settings, before any fleet document. */
export interface CaptureBaseline {
  wake: DeviceConfig['wake'];
  capture: DeviceConfig['capture'];
}

export function captureBaselineOf(config: Pick<DeviceConfig, 'wake' | 'capture'>): CaptureBaseline {
  return { wake: structuredClone(config.wake), capture: structuredClone(config.capture) };
}

type Direction = 'higher' | 'lower';

/** The strict direction of each scalar: 'higher' = only raising is stricter. */
const WAKE_SCALARS: Record<'threshold' | 'patienceFrames' | 'refractoryMs' | 'phases', { stricter: Direction; why: string }> = {
  threshold: { stricter: 'higher', why: 'a lower threshold fires on more speech' },
  patienceFrames: { stricter: 'higher', why: 'fewer frames fire sooner and more often' },
  refractoryMs: { stricter: 'higher', why: 'a shorter refractory period fires again sooner' },
  phases: { stricter: 'lower', why: 'more phases score more often and fire more often' },
};
const CAPTURE_SCALARS: Record<'maxMs' | 'noSpeechTimeoutMs' | 'endSilenceMs' | 'vadThreshold', { stricter: Direction; why: string }> = {
  maxMs: { stricter: 'lower', why: 'a longer cap records more' },
  noSpeechTimeoutMs: { stricter: 'lower', why: 'a longer timeout keeps listening longer' },
  endSilenceMs: { stricter: 'lower', why: 'more trailing silence records more after speech ends' },
  vadThreshold: { stricter: 'higher', why: 'a lower VAD threshold counts more sound as speech and records longer' },
};

function looser(value: number, base: number, stricter: Direction): boolean {
  return stricter === 'higher' ? value < base : value > base;
}

function stricterOf(a: number, b: number, stricter: Direction): number {
  return stricter === 'higher' ? Math.max(a, b) : Math.min(a, b);
}

function wordThreshold(w: { threshold?: unknown }, fallback: number): number {
  return typeof w.threshold === 'number' ? w.threshold : fallback;
}

/**
 * The first wake/capture field of a fleet `config` that would make capture more eager than `base`, as
 * "path: why", or undefined. Tolerates any shape (the schema check comes later and reports types).
 */
export function findCaptureLoosening(config: Record<string, unknown>, base: CaptureBaseline): string | undefined {
  const wake = config['wake'];
  if (isPlainObject(wake)) {
    for (const [field, rule] of Object.entries(WAKE_SCALARS)) {
      const v = wake[field];
      const b = base.wake[field as keyof typeof WAKE_SCALARS];
      if (typeof v === 'number' && looser(v, b, rule.stricter)) {
        return `wake.${field}: ${v} is ${rule.stricter === 'higher' ? 'below' : 'above'} this device's ${b} (${rule.why}); a fleet may only make it ${rule.stricter}`;
      }
    }
    if (wake['vadGate'] === false && base.wake.vadGate) {
      return "wake.vadGate: false would let the wake word fire without speech; this device gates on speech and a fleet may not turn that off";
    }
    const fallback = typeof wake['threshold'] === 'number' ? wake['threshold'] : base.wake.threshold;
    const words = wake['words'];
    if (Array.isArray(words)) {
      const own = new Map(base.wake.words.map((w) => [w.name, w] as const));
      for (let i = 0; i < words.length; i++) {
        const w: unknown = words[i];
        if (!isPlainObject(w) || typeof w['name'] !== 'string') continue;
        const mine = own.get(w['name']);
        if (mine === undefined) {
          return `wake.words[${i}].name: "${w['name']}" is not one of this device's wake words (${base.wake.words.map((x) => x.name).join(', ')}); a fleet may remove wake words, never add them`;
        }
        const theirs = wordThreshold(w, fallback);
        const ours = wordThreshold(mine, base.wake.threshold);
        if (theirs < ours) {
          const inherited = typeof w['threshold'] === 'number' ? '' : ' (inherited from wake.threshold)';
          return `wake.words[${i}].threshold: ${theirs}${inherited} is below this device's ${ours} for "${mine.name}"; a fleet may only raise thresholds`;
        }
      }
    }
  }
  const capture = config['capture'];
  if (isPlainObject(capture)) {
    for (const [field, rule] of Object.entries(CAPTURE_SCALARS)) {
      const v = capture[field];
      const b = base.capture[field as keyof typeof CAPTURE_SCALARS];
      if (typeof v === 'number' && looser(v, b, rule.stricter)) {
        return `capture.${field}: ${v} is ${rule.stricter === 'higher' ? 'below' : 'above'} this device's ${b} (${rule.why}); a fleet may only make it ${rule.stricter === 'higher' ? 'higher' : 'shorter'}`;
      }
    }
  }
  return undefined;
}

/**
 * `layered` (the device config with fleet documents merged in) clamped so no wake/capture setting is more
 * eager than `base`: each scalar takes the stricter value, the VAD gate stays on if the device had it on,
 * wake words are those of `layered` the device also has (each at the higher of the two thresholds); if no
 * such word is left, the device's own words are kept.
 */
export function clampCapture(base: CaptureBaseline, layered: CaptureBaseline): CaptureBaseline {
  const wake = { ...layered.wake };
  for (const [field, rule] of Object.entries(WAKE_SCALARS)) {
    const k = field as keyof typeof WAKE_SCALARS;
    wake[k] = stricterOf(layered.wake[k], base.wake[k], rule.stricter);
  }
  wake.vadGate = layered.wake.vadGate || base.wake.vadGate;
  const own = new Map(base.wake.words.map((w) => [w.name, w] as const));
  const kept: WakeWordConfig[] = [];
  for (const w of layered.wake.words) {
    const mine = own.get(w.name);
    if (mine === undefined) continue;
    const t = Math.max(wordThreshold(w, wake.threshold), wordThreshold(mine, base.wake.threshold));
    kept.push(t === wake.threshold && w.threshold === undefined && mine.threshold === undefined ? { name: w.name } : { name: w.name, threshold: t });
  }
  // The device's own words fall back to the clamped wake.threshold, which is never below the device's.
  wake.words = kept.length > 0 ? kept : structuredClone(base.wake.words);
  const capture = { ...layered.capture };
  for (const [field, rule] of Object.entries(CAPTURE_SCALARS)) {
    const k = field as keyof typeof CAPTURE_SCALARS;
    capture[k] = stricterOf(layered.capture[k], base.capture[k], rule.stricter);
  }
  return { wake, capture };
}
