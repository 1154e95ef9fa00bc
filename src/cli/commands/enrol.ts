/**
 * Household verifier commands (issue 13 §3): `earshot enroll` (from WAV files or the microphone), `earshot enroll
 * status`, `earshot enroll remove`. The audio is turned into embedding features here, on the device, and only the
 * features reach the application layer: no enrolment audio is stored anywhere.
 */
import { MicrophoneSource, readWavFile, type RecorderName } from '../../audio/index.js';
import { MIN_ENROLMENT_CLIPS, MIN_ENROLMENT_PEAK, checkWakeword, type VerifierStatus } from '../../app/index.js';
import type { DeviceConfig } from '../../config/index.js';
import { EarshotError, SAMPLE_RATE, createLogger } from '../../core/index.js';
import { DEFAULT_MANIFEST, loadManifest } from '../../models/index.js';
import {
  DEFAULT_NOISY_COPY_SNRS_DB,
  DEFAULT_PARTIAL_PHRASE_FRACTIONS,
  featuresOfBackground,
  featuresOfPartialPhrases,
  featuresOfEnrolmentClipWithNoisyCopies,
  loadWakeModels,
  noisyCopySeed,
  type EnrolmentFeaturesWithCopies,
  type LoadedWakeModels,
} from '../../wakeword/index.js';
import { DEFAULT_VERIFIER_GATE, enrolmentGate, genericNegatives, LOW_VERIFIER_GATE } from '../../verifier/index.js';
import { ownerOption, requiredOwnerOption } from '../owner-option.js';
import { requiredOption, stringOption, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { CLI_SOURCE, commandConfig, withApp, type AppExtras } from '../command-context.js';

/** Background windows kept per background clip (a 30 s clip has ~370 frames): enough room, bounded training time. */
export const MAX_BACKGROUND_WINDOWS_PER_CLIP = 400;
/** Recording: seconds per wake phrase, and attempts per phrase before giving up. */
export const DEFAULT_PHRASE_SECONDS = 3;
export const PHRASE_ATTEMPTS = 3;

function json(args: ParsedArgs): boolean {
  return args.values['json'] === true;
}

function positiveNumber(args: ParsedArgs, name: string, opts: { integer?: boolean; max: number }): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0 || x > opts.max || (opts.integer === true && !Number.isInteger(x))) {
    throw new EarshotError('BAD_ARGUMENT', `--${name} must be ${opts.integer === true ? 'a whole number' : 'a number'} in (0, ${opts.max}] (got '${v}')`, { details: { field: `--${name}` } });
  }
  return x;
}

/** SNRs of the noisy copies, dB: a sensible range for a room (a copy below 0 dB is mostly noise). */
const MIN_COPY_SNR_DB = 0;
const MAX_COPY_SNR_DB = 40;

/**
 * A comma list of numbers, or `none` (an empty list); the default when the option is absent. Refused, naming the
 * option and what it must be, when a part is empty or not `ok`, or there are more than `max`.
 */
function numberListOption(args: ParsedArgs, name: string, fallback: readonly number[], ok: (x: number) => boolean, max: number, what: string): readonly number[] {
  const v = stringOption(args, name);
  if (v === undefined) return fallback;
  if (v.trim() === 'none') return [];
  const parts = v.split(',').map((x) => x.trim());
  const values = parts.map(Number);
  if (parts.some((x) => x === '') || values.some((x) => !ok(x)) || values.length > max) {
    throw new EarshotError('BAD_ARGUMENT', `--${name} must be 'none' or up to ${max} comma-separated ${what} (got '${v}')`, { details: { field: `--${name}` } });
  }
  return values;
}

/** --noisy-copies: a comma list of SNRs in dB, or `none`; default DEFAULT_NOISY_COPY_SNRS_DB (measured). */
export function noisyCopiesOption(args: ParsedArgs): readonly number[] {
  const ok = (x: number) => Number.isFinite(x) && x >= MIN_COPY_SNR_DB && x <= MAX_COPY_SNR_DB;
  return numberListOption(args, 'noisy-copies', DEFAULT_NOISY_COPY_SNRS_DB, ok, 4, `SNRs in dB within [${MIN_COPY_SNR_DB}, ${MAX_COPY_SNR_DB}]`);
}

/** --partial-phrases: a comma list of cut points (fractions of the phrase's voiced span), or `none`; default measured. */
export function partialPhrasesOption(args: ParsedArgs): readonly number[] {
  return numberListOption(args, 'partial-phrases', DEFAULT_PARTIAL_PHRASE_FRACTIONS, (x) => x > 0 && x < 1, 6, 'fractions in (0, 1)');
}

/** How each clip is learnt besides as recorded: its pink-noise copies (positives) and partial-phrase copies (negatives). */
interface CopyPlan {
  snrDb: readonly number[];
  fractions: readonly number[];
  /** The device's noise suppression (wake.noiseSuppressionDb): enrolment hears each clip as the detector will. */
  noiseSuppressionDb: number;
}

/** One clip's contribution: positives (the clip and its noisy copies) and its partial-phrase negatives. */
interface ClipResult {
  peakScore: number;
  windows: Float32Array[];
  partialPhrases: Float32Array[];
}

function spoken(word: string): string {
  return word.replace(/_/g, ' ');
}

function describe(s: VerifierStatus): string {
  return `${s.ownerId}  ${s.wakeword}  clips=${s.clips}  cross-validated=${Math.round(s.cvRecall * 100)}%  trained=${new Date(s.trainedAt).toISOString()}  false-wakes=${s.falseWakes}  background=${s.backgroundWindows}  partial-phrases=${s.partialPhraseWindows}`;
}

async function loadModelsFor(args: ParsedArgs, word: string): Promise<LoadedWakeModels> {
  const manifest = await loadManifest(stringOption(args, 'manifest') ?? DEFAULT_MANIFEST);
  return loadWakeModels(manifest, [word]);
}

interface Clip {
  /** The file, or "recording N". */
  name: string;
  pcm: Int16Array;
}

/**
 * A clip's features with its pink-noise copies' windows (grouped as one clip) and, once the clip is heard, its
 * partial-phrase negatives; the copies live only in this call.
 */
async function clipFeatures(models: LoadedWakeModels, pcm: Int16Array, word: string, clipIndex: number, plan: CopyPlan): Promise<{ f: EnrolmentFeaturesWithCopies; partialPhrases: Float32Array[] }> {
  const ns = plan.noiseSuppressionDb;
  // Windows from the lowest gate enrolment can choose; clipsAtGate keeps those from the chosen one.
  const f = await featuresOfEnrolmentClipWithNoisyCopies(models, pcm, word, { snrDb: plan.snrDb, seed: noisyCopySeed(clipIndex, word), noiseSuppressionDb: ns, minScore: LOW_VERIFIER_GATE });
  if (!heard(f) || plan.fractions.length === 0) return { f, partialPhrases: [] };
  return { f, partialPhrases: (await featuresOfPartialPhrases(models, pcm, word, { fractions: plan.fractions, phraseBeforeMs: f.peakMs, noiseSuppressionDb: ns })).windows };
}

function heard(f: EnrolmentFeaturesWithCopies): boolean {
  return f.peakScore >= MIN_ENROLMENT_PEAK && f.cleanWindows > 0;
}

/** The windows kept from `gate` up: the clip's own, then each copy's (in the order of f.copies). */
function windowsFrom(f: EnrolmentFeaturesWithCopies, gate: number): { all: number; clean: number; copies: number[] } {
  const count = (from: number, n: number) => f.scores.slice(from, from + n).filter((s) => s >= gate).length;
  const copies: number[] = [];
  let at = f.cleanWindows;
  for (const c of f.copies) {
    copies.push(count(at, c.windows));
    at += c.windows;
  }
  const clean = count(0, f.cleanWindows);
  return { all: clean + copies.reduce((a, b) => a + b, 0), clean, copies };
}

/** The clip's windows at the default gate (a low gate, chosen once every clip is heard, keeps more: clipsAtGate says so). */
function windowsNote(f: EnrolmentFeaturesWithCopies, partialPhrases: Float32Array[]): string {
  const partial = partialPhrases.length > 0 ? `; ${partialPhrases.length} partial-phrase negatives` : '';
  const w = windowsFrom(f, DEFAULT_VERIFIER_GATE);
  if (f.copies.length === 0) return `${w.all} windows${partial}`;
  return `${w.all} windows (${w.clean} + ${f.copies.map((c, i) => `${w.copies[i]} at ${c.snrDb} dB`).join(' + ')} in pink noise)${partial}`;
}

interface HeardClip {
  f: EnrolmentFeaturesWithCopies;
  partialPhrases: Float32Array[];
}

/**
 * The verifier's gate from the pink-noise copies' peaks (src/verifier enrolmentGate: low when the base model does
 * not hear some copy) and each clip's windows from that gate up — the frames at which the detector will consult it.
 */
function clipsAtGate(heard: HeardClip[], io: CommandIO): { gate: number; clips: ClipResult[] } {
  const peaks = heard.flatMap((h) => h.f.copies.map((c) => c.peakScore));
  const gate = enrolmentGate(peaks);
  const unheard = peaks.filter((p) => p < DEFAULT_VERIFIER_GATE).length;
  const clips = heard.map(({ f, partialPhrases }) => ({ peakScore: f.peakScore, windows: f.windows.filter((_, i) => f.scores[i]! >= gate), partialPhrases }));
  writeLine(io.stderr, gate === LOW_VERIFIER_GATE ? `verifier gate ${gate}: ${unheard} of ${peaks.length} pink-noise copies peak below ${DEFAULT_VERIFIER_GATE} (the model does not hear this voice in that noise); windows kept from ${gate}: ${clips.map((c) => c.windows.length).join(', ')}` : `verifier gate ${gate}`);
  return { gate, clips };
}

async function enrolmentFeatures(models: LoadedWakeModels, word: string, clips: Clip[], io: CommandIO, plan: CopyPlan): Promise<HeardClip[]> {
  const out: HeardClip[] = [];
  const refused: string[] = [];
  for (const [i, c] of clips.entries()) {
    const { f, partialPhrases } = await clipFeatures(models, c.pcm, word, i, plan);
    writeLine(io.stderr, `clip ${i + 1}/${clips.length} ${c.name}: peak ${f.peakScore.toFixed(2)} at ${(f.peakMs / 1000).toFixed(2)} s, ${windowsNote(f, partialPhrases)}`);
    if (!heard(f)) refused.push(`${c.name} (peak ${f.peakScore.toFixed(2)})`);
    out.push({ f, partialPhrases });
  }
  if (refused.length > 0) {
    throw new EarshotError('BAD_ARGUMENT', `${refused.join(', ')}: ${refused.length === 1 ? 'does' : 'do'} not contain "${spoken(word)}" as the model hears it (peak score below ${MIN_ENROLMENT_PEAK}); nothing was enrolled`, {
      details: { files: refused.length },
    });
  }
  return out;
}

async function backgroundFeatures(models: LoadedWakeModels, word: string, clips: Clip[], io: CommandIO, plan: CopyPlan): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const c of clips) {
    const w = await featuresOfBackground(models, c.pcm, word, { maxWindows: MAX_BACKGROUND_WINDOWS_PER_CLIP, noiseSuppressionDb: plan.noiseSuppressionDb });
    writeLine(io.stderr, `background ${c.name}: ${w.length} windows`);
    out.push(...w);
  }
  return out;
}

async function readClips(files: string[]): Promise<Clip[]> {
  const out: Clip[] = [];
  for (const f of files) out.push({ name: f, pcm: (await readWavFile(f)).pcm16k });
  return out;
}

/** Samples from the microphone, `seconds` at a time, with a prompt on stderr before each take. */
class Takes {
  private readonly it: AsyncIterator<Int16Array>;
  private carry: Int16Array = new Int16Array(0);

  constructor(source: AsyncIterable<Int16Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async take(seconds: number): Promise<Int16Array> {
    const n = Math.round(seconds * SAMPLE_RATE);
    const out = new Int16Array(n);
    let have = Math.min(this.carry.length, n);
    out.set(this.carry.subarray(0, have));
    this.carry = this.carry.subarray(have);
    while (have < n) {
      const r = await this.it.next();
      if (r.done) throw new EarshotError('RECORDER_FAILED', 'the microphone stopped before the recording was complete');
      const use = Math.min(r.value.length, n - have);
      out.set(r.value.subarray(0, use), have);
      have += use;
      if (use < r.value.length) this.carry = r.value.slice(use);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

async function recordClips(
  args: ParsedArgs,
  io: CommandIO,
  config: DeviceConfig,
  models: LoadedWakeModels,
  word: string,
  count: number,
  plan: CopyPlan,
): Promise<{ clips: HeardClip[]; background: Float32Array[] }> {
  const seconds = positiveNumber(args, 'seconds', { max: 30 }) ?? DEFAULT_PHRASE_SECONDS;
  const backgroundSeconds = positiveNumber(args, 'background-seconds', { max: 300 });
  const mic = new MicrophoneSource({
    recorder: config.audio.recorder as RecorderName,
    device: stringOption(args, 'device') ?? config.audio.device,
    signal: io.signal,
    logger: createLogger({ level: config.log.level, out: io.stderr }),
  });
  writeLine(io.stderr, `recording ${count} times "${spoken(word)}" through ${mic.description}, ${seconds} s each; the audio is turned into features and not kept`);
  const takes = new Takes(mic);
  const clips: HeardClip[] = [];
  let background: Float32Array[] = [];
  try {
    for (let i = 0; i < count; i++) {
      for (let attempt = 1; ; attempt++) {
        writeLine(io.stderr, `[${i + 1}/${count}] say "${spoken(word)}" now…`);
        const pcm = await takes.take(seconds);
        const { f, partialPhrases } = await clipFeatures(models, pcm, word, i, plan);
        if (heard(f)) {
          writeLine(io.stderr, `[${i + 1}/${count}] heard it (peak ${f.peakScore.toFixed(2)}, ${windowsNote(f, partialPhrases)})`);
          clips.push({ f, partialPhrases });
          break;
        }
        if (attempt >= PHRASE_ATTEMPTS) {
          throw new EarshotError('BAD_ARGUMENT', `recording ${i + 1}: "${spoken(word)}" was not heard in ${PHRASE_ATTEMPTS} attempts (best peak score below ${MIN_ENROLMENT_PEAK}); nothing was enrolled`);
        }
        writeLine(io.stderr, `[${i + 1}/${count}] did not hear "${spoken(word)}" (peak ${f.peakScore.toFixed(2)}); once more`);
      }
    }
    if (backgroundSeconds !== undefined) {
      writeLine(io.stderr, `now ${backgroundSeconds} s of the room as it usually sounds (talk, TV, quiet), without the wake word…`);
      background = await featuresOfBackground(models, await takes.take(backgroundSeconds), word, { maxWindows: MAX_BACKGROUND_WINDOWS_PER_CLIP, noiseSuppressionDb: plan.noiseSuppressionDb });
      writeLine(io.stderr, `background: ${background.length} windows`);
    }
  } finally {
    await takes.close();
  }
  return { clips, background };
}

/** How the verifier is trained: the generic negatives (default: the set shipped with the models the command uses). */
export interface EnrolCommandOptions {
  genericNegatives?: () => Promise<Float32Array[]>;
}

function enrollCommand(opts: EnrolCommandOptions): Command {
  return {
  path: ['enroll'],
  summary: "train an owner's verifier for a wake word from a few clips of them saying it (on the device)",
  usage: [
    'earshot enroll --owner ID --wakeword NAME FILE.wav... [--background FILE.wav...] [--noisy-copies DB,...|none] [--partial-phrases F,...|none] [--json]',
    '       earshot enroll --owner ID --wakeword NAME --record N [--seconds S] [--background-seconds S] [--device ALSA_DEVICE] [--noisy-copies DB,...|none] [--partial-phrases F,...|none] [--json]',
  ].join('\n'),
  help: [
    `At least ${MIN_ENROLMENT_CLIPS} clips of the owner saying the wake word. Each clip must contain it as the wake-word model`,
    `hears it (peak score ≥ ${MIN_ENROLMENT_PEAK}); a clip that does not is refused, by name, and nothing is enrolled.`,
    'The verifier is a small model on the embedding features around each clip\'s peak, trained against the room',
    "background (--background), the owner's recordings flagged as false wakes and a generic set shipped with Earshot.",
    'From then on the speaker asks it whenever the wake word\'s score passes a low gate, and its score decides.',
    'Only features are kept (sealed under the owner\'s key, in their export, erased with them), never the audio.',
    'Each clip is also learnt with pink noise mixed in (by default at 20 and 10 dB below its speech level; seeded, the',
    'same every time): measured on held-out voices, this cut the verifier\'s own-voice misses from 14 to 4 of 108, most',
    'of them in noise, at 3 more near-miss fires of 53. The noisy copies exist only in memory while enrolling; their',
    'features count as their clip\'s (the cross-validated score leaves a clip out with its copies).',
    'Each clip is also cut short after the first part of its phrase ("hey jar…", by default at 40 % of it) and',
    'learnt as not the word: a verifier that knows your voice otherwise accepts your voice saying something that',
    'starts like it. Only the features of those copies are kept, with the clip\'s (enroll status: partial-phrases).',
    'Enrolling a word again replaces its verifier.',
    'Options:',
    '  --owner ID               whose voice this is (required)',
    '  --wakeword NAME          model name (earshot models list)',
    '  --background FILE.wav    a recording of the room without the wake word (repeatable)',
    `  --record N               record N (≥ ${MIN_ENROLMENT_CLIPS}) wake phrases through the microphone, prompting on stderr`,
    `  --seconds S              seconds per phrase when recording (default ${DEFAULT_PHRASE_SECONDS})`,
    '  --background-seconds S   then record S seconds of the room as background',
    '  --device ALSA_DEVICE     microphone device (default: config audio.device)',
    `  --noisy-copies DB,...    SNRs in dB of each clip's pink-noise copies (default ${DEFAULT_NOISY_COPY_SNRS_DB.join(',')}, measured);`,
    '                           none: learn the clips only as recorded',
    `  --partial-phrases F,...  cut points (fractions of the phrase) of each clip's partial-phrase copies, learnt as`,
    `                           "not the word" (default ${DEFAULT_PARTIAL_PHRASE_FRACTIONS.join(',')}, measured); none: no such copies`,
    '  --manifest FILE          model manifest (default models/manifest.json)',
  ].join('\n'),
  options: {
    owner: { type: 'string' },
    wakeword: { type: 'string' },
    background: { type: 'string', multiple: true },
    record: { type: 'string' },
    seconds: { type: 'string' },
    'background-seconds': { type: 'string' },
    device: { type: 'string' },
    'noisy-copies': { type: 'string' },
    'partial-phrases': { type: 'string' },
    manifest: { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    const ownerId = requiredOwnerOption(args);
    const word = requiredOption(args, 'wakeword');
    checkWakeword(word);
    const record = positiveNumber(args, 'record', { integer: true, max: 50 });
    const files = args.positionals;
    const backgroundFiles = (args.values['background'] as string[] | undefined) ?? [];
    if (record !== undefined && files.length > 0) throw new EarshotError('BAD_ARGUMENT', 'give either clip files or --record N, not both');
    if (record === undefined && (args.values['seconds'] !== undefined || args.values['background-seconds'] !== undefined || args.values['device'] !== undefined)) {
      throw new EarshotError('BAD_ARGUMENT', '--seconds, --background-seconds and --device are for --record');
    }
    const snrDb = noisyCopiesOption(args);
    const fractions = partialPhrasesOption(args);
    const clipCount = record ?? files.length;
    if (clipCount < MIN_ENROLMENT_CLIPS) {
      throw new EarshotError('BAD_ARGUMENT', `enrolment needs at least ${MIN_ENROLMENT_CLIPS} clips of the wake word (got ${clipCount}): earshot enroll --owner ID --wakeword NAME A.wav B.wav C.wav, or --record ${MIN_ENROLMENT_CLIPS}`);
    }
    const config = await commandConfig(args, io);
    const plan: CopyPlan = { snrDb, fractions, noiseSuppressionDb: config.wake.noiseSuppressionDb };
    // Bad files fail before the models load, and before the owner's data is opened.
    const clipsAudio = record === undefined ? await readClips(files) : [];
    const backgroundAudio = await readClips(backgroundFiles);
    // The owner must exist before anyone is asked to speak.
    await withApp(args, io, (app) => app.getOwner(ownerId));
    writeLine(io.stderr, `loading the ${word} model…`);
    const models = await loadModelsFor(args, word);
    let heardClips: HeardClip[];
    let background: Float32Array[];
    if (record === undefined) {
      heardClips = await enrolmentFeatures(models, word, clipsAudio, io, plan);
      background = await backgroundFeatures(models, word, backgroundAudio, io, plan);
    } else {
      const recorded = await recordClips(args, io, config, models, word, record, plan);
      heardClips = recorded.clips;
      background = [...recorded.background, ...(await backgroundFeatures(models, word, backgroundAudio, io, plan))];
    }
    const { gate, clips } = clipsAtGate(heardClips, io);
    writeLine(io.stderr, 'training the verifier…');
    // Measured at the word's threshold on this device (a configured word's own, else the default).
    const threshold = config.wake.words.find((w) => w.name === word)?.threshold ?? config.wake.threshold;
    const status = await withApp(args, io, (app) => app.enrolVerifier({ ownerId, wakeword: word, clips, background, threshold, gate: Math.min(gate, threshold), source: CLI_SOURCE }), extras(opts, args));
    if (json(args)) writeLine(io.stdout, JSON.stringify({ ...status, trainedAt: new Date(status.trainedAt).toISOString() }));
    else writeLine(io.stdout, `enrolled: ${describe(status)}`);
    if (!config.wake.words.some((w) => w.name === word)) {
      writeLine(io.stderr, `note: ${word} is not one of this device's wake words (config wake.words): the verifier applies once it is`);
    }
    return 0;
  },
  };
}

/** The generic negatives of the manifest the features came from (--manifest), unless a test gives its own. */
function extras(opts: EnrolCommandOptions, args: ParsedArgs): AppExtras {
  return { genericNegatives: opts.genericNegatives ?? (async () => genericNegatives(await loadManifest(stringOption(args, 'manifest') ?? DEFAULT_MANIFEST))) };
}

const enrollStatus: Command = {
  path: ['enroll', 'status'],
  summary: 'per owner and wake word: enrolment clips, cross-validated score on its own enrolment, when trained',
  usage: 'earshot enroll status [--owner ID] [--json]',
  help: [
    'Without --owner: every owner\'s verifiers. "cross-validated" is the share of enrolment clips a model trained',
    'without that clip still accepts (leave one clip out): low values mean the clips disagree, enroll again.',
  ].join('\n'),
  options: { owner: { type: 'string' } },
  async run(args, io) {
    const ownerId = ownerOption(args);
    return withApp(args, io, async (app) => {
      const list = await app.verifierStatus(ownerId);
      if (json(args)) writeLine(io.stdout, JSON.stringify(list.map((s) => ({ ...s, trainedAt: new Date(s.trainedAt).toISOString() }))));
      else if (list.length === 0) writeLine(io.stderr, `no verifiers${ownerId !== undefined ? ` for ${ownerId}` : ''} (earshot enroll --owner ID --wakeword NAME ...)`);
      else for (const s of list) writeLine(io.stdout, describe(s));
      return 0;
    });
  },
};

const enrollRemove: Command = {
  path: ['enroll', 'remove'],
  summary: "remove an owner's verifier for a wake word (the speaker goes back to the base model for them)",
  usage: 'earshot enroll remove --owner ID --wakeword NAME [--json]',
  options: { owner: { type: 'string' }, wakeword: { type: 'string' } },
  async run(args, io) {
    const ownerId = requiredOwnerOption(args);
    const word = requiredOption(args, 'wakeword');
    checkWakeword(word);
    return withApp(args, io, async (app) => {
      await app.removeVerifier(ownerId, word, { source: CLI_SOURCE });
      if (json(args)) writeLine(io.stdout, JSON.stringify({ ownerId, wakeword: word, removed: true }));
      else writeLine(io.stdout, `removed the ${word} verifier of ${ownerId}`);
      return 0;
    });
  },
};

/** The household commands; tests pass their own generic negatives. */
export function enrolCommands(opts: EnrolCommandOptions = {}): Command[] {
  return [enrollCommand(opts), enrollStatus, enrollRemove];
}

export const commands: Command[] = enrolCommands();
