/**
 * `earshot tune --wakeword NAME [--owner ID] [--target-fa-per-hour X] [--background FILE.wav…] [--apply] [--json]`
 * (issue 13 §5): recommends the owner's threshold (and, with their verifier, its gate) for a word from their
 * enrolment clips' scores, their flagged false wakes, the room background (kept at enrolment, and any
 * --background clips given now) and the shipped generic negative set, and prints the expected miss rate and
 * false accepts per hour. `--apply` writes it to the owner's settings (audited, via "tune"), where a fleet
 * document can still only make it stricter. Everything is computed on the device; nothing is stored but the
 * two numbers.
 */
import type { TuneInputsOfOwner } from '../../app/index.js';
import { readWavFile } from '../../audio/index.js';
import type { VerifierEnrolment } from '../../core/index.js';
import { EarshotError, errorMessage, isEarshotError } from '../../core/index.js';
import { FRAME_MS } from '../../eval/index.js';
import { DEFAULT_MANIFEST, loadManifest, modelOfKind, readVerifiedModel, type ModelManifest } from '../../models/index.js';
import { decodeNegativeRuns, verifierProbability, windowsOfRuns, type NegativeRuns, type VerifierModel } from '../../verifier/index.js';
import { featuresOfBackground, loadWakeModels, type LoadedWakeModels } from '../../wakeword/index.js';
import { stringOption, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { CLI_SOURCE, withApp } from '../command-context.js';
import { ownerOption } from '../owner-option.js';
import { planTuning, type NegativeScores, type PositiveScores, type TunePlan } from '../tune-plan.js';
import { scoreWindows } from '../window-scores.js';
import { runningConfig, thresholdReport } from './owner-wake.js';
import { progressReporter } from './store.js';

/** The target when none is given: issue 13's bar for a verified word on general audio. */
export const DEFAULT_TARGET_FA_PER_HOUR = 0.3;

function json(args: ParsedArgs): boolean {
  return args.values['json'] === true;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** The shipped generic negatives as runs, or undefined (with why) when this install has none. */
async function shippedNegativeRuns(manifest: ModelManifest): Promise<{ runs: NegativeRuns } | { missing: string }> {
  let entry;
  try {
    entry = modelOfKind(manifest, 'verifier-negatives');
  } catch (e) {
    if (isEarshotError(e, 'MODEL_MISSING')) return { missing: 'the model manifest lists no generic negative set' };
    throw e;
  }
  const verified = await readVerifiedModel(manifest, entry);
  return { runs: decodeNegativeRuns(verified.bytes) };
}

function verifiedScores(model: VerifierModel | undefined, windows: readonly Float32Array[]): Float32Array | undefined {
  if (!model) return undefined;
  return Float32Array.from(windows, (w) => verifierProbability(model, w));
}

const tune: Command = {
  path: ['tune'],
  summary: "recommend (and with --apply set) an owner's threshold and verifier gate for a wake word from their enrolment, flagged false wakes and background audio",
  usage: 'earshot tune --wakeword NAME [--owner ID] [--target-fa-per-hour X] [--background FILE.wav]… [--manifest FILE] [--apply] [--json]',
  help: [
    `  --wakeword NAME          the word (the owner must have enrolled it: earshot enroll --owner ID --wakeword NAME FILE.wav…)`,
    '  --owner ID               owner (default: the active owner)',
    `  --target-fa-per-hour X   false accepts per hour to stay within (default ${DEFAULT_TARGET_FA_PER_HOUR})`,
    '  --background FILE.wav    more room audio without the wake word (repeatable); read once, only scores are kept',
    '  --manifest FILE          model manifest (default models/manifest.json): the classifier and the generic negative set',
    "  --apply                  write the recommendation to the owner's settings (a fleet document can still raise it);",
    '                           one that misses the target is shown but not written (exit 1)',
    'Positives: the enrolment clips (with a verifier: scored by the verifier trained on them, so the miss rate is',
    'optimistic; earshot enroll status shows the cross-validated recall). Negatives: the flagged false wakes of the',
    "word, the room background kept at enrolment, --background clips and the shipped generic negative set.",
  ].join('\n'),
  options: { owner: { type: 'string' }, wakeword: { type: 'string' }, 'target-fa-per-hour': { type: 'string' }, background: { type: 'string', multiple: true }, manifest: { type: 'string' }, apply: { type: 'boolean' } },
  async run(args, io) {
    const ownerId = ownerOption(args);
    const word = stringOption(args, 'wakeword');
    if (word === undefined) throw new EarshotError('BAD_ARGUMENT', '--wakeword is required', { details: { field: '--wakeword' } });
    const targetText = stringOption(args, 'target-fa-per-hour');
    const target = targetText === undefined ? DEFAULT_TARGET_FA_PER_HOUR : Number(targetText);
    if (!Number.isFinite(target) || target < 0) throw new EarshotError('BAD_ARGUMENT', `--target-fa-per-hour must be a number ≥ 0 (got ${JSON.stringify(targetText)})`, { details: { field: '--target-fa-per-hour' } });
    const backgroundFiles = ((args.values['background'] as string[] | undefined) ?? []).filter((f) => f !== '');
    return withApp(args, io, async (app, ctx) => {
      const owner = await app.resolveOwner(ownerId);
      const inputs = await app.tuneInputs(owner, word);
      if (inputs.enrolment === undefined) {
        throw new EarshotError('BAD_ARGUMENT', `owner ${owner} has not enrolled ${word}: earshot enroll --owner ${owner} --wakeword ${word} FILE.wav… (at least 3 clips) first`, { details: { field: '--wakeword' } });
      }
      const manifest = await loadManifest(stringOption(args, 'manifest') ?? DEFAULT_MANIFEST);
      const models = await loadWakeModels(manifest, [word]);
      const notes: string[] = [];
      const plan = await computePlan(io, { models, manifest, word, inputs: { ...inputs, enrolment: inputs.enrolment }, backgroundFiles, target, notes, ctx });
      let applied = false;
      // A recommendation that misses the target is the strictest threshold there is: applying it would leave the
      // word all but deaf for this owner. It is shown, not written.
      const refused = args.values['apply'] === true && !plan.met;
      if (refused) notes.push(`not applied: no threshold up to 0.99 keeps false accepts within ${target}/h (flag false wakes, enrol more clips or raise --target-fa-per-hour)`);
      if (args.values['apply'] === true && plan.met) {
        await app.setWakeThreshold(owner, word, { threshold: plan.threshold, ...(plan.verifierGate !== null ? { verifierGate: plan.verifierGate } : {}) }, { source: CLI_SOURCE, via: 'tune' });
        applied = true;
      }
      const effect = await thresholdReport(ctx, word, applied ? plan.threshold : inputs.settings.thresholds[word]);
      const out = {
        ownerId: owner,
        wakeword: word,
        threshold: plan.threshold,
        verifierGate: plan.verifierGate,
        expectedMissRate: plan.expectedFrr,
        expectedFalseAcceptsPerHour: plan.expectedFaPerHour,
        targetFaPerHour: target,
        met: plan.met,
        enrolmentClips: plan.positives,
        negativeHours: plan.negativeHours,
        falseWakes: inputs.falseWakes.length,
        verifier: inputs.verifier !== undefined,
        gates: plan.gates,
        fleetFloor: effect.fleetFloor,
        applied,
        inEffect: effect.inEffect,
        notes,
      };
      if (json(args)) writeLine(io.stdout, JSON.stringify(out));
      else printPlan(io, out);
      if (refused) writeLine(io.stderr, 'earshot tune: the recommendation misses the target and was not applied');
      return refused ? 1 : 0;
    });
  },
};

async function computePlan(
  io: CommandIO,
  p: {
    models: LoadedWakeModels;
    manifest: ModelManifest;
    word: string;
    inputs: TuneInputsOfOwner & { enrolment: VerifierEnrolment };
    backgroundFiles: string[];
    target: number;
    notes: string[];
    ctx: Parameters<typeof thresholdReport>[0];
  },
): Promise<TunePlan> {
  const { models, word, inputs, notes } = p;
  const verifier = inputs.verifier;
  const progress = progressReporter(io, 'scoring the generic negatives');
  const score = (windows: readonly Float32Array[]) => scoreWindows(models, word, windows);

  const positives: PositiveScores[] = [];
  for (const c of inputs.enrolment.clips) {
    const base = await score(c.windows);
    positives.push({ peakScore: c.peakScore, base, ...(verifier ? { verified: verifiedScores(verifier, c.windows)! } : {}) });
  }
  const negatives: NegativeScores[] = [];
  const addNegative = async (windows: readonly Float32Array[], frameMs: number) => {
    if (windows.length === 0) return;
    const base = await score(windows);
    negatives.push({ base, frameMs, ...(verifier ? { verified: verifiedScores(verifier, windows)! } : {}) });
  };
  // Each flagged false wake is one window: a real false wake in this home, counted as one fire wherever it would fire.
  for (const f of inputs.falseWakes) await addNegative([f], FRAME_MS);
  await addNegative(inputs.enrolment.background, FRAME_MS);
  for (const file of p.backgroundFiles) {
    const wav = await readWavFile(file);
    await addNegative(await featuresOfBackground(models, wav.pcm16k, word, { noiseSuppressionDb: p.ctx.config.wake.noiseSuppressionDb }), FRAME_MS);
  }
  const shipped = await shippedNegativeRuns(p.manifest).catch((e: unknown) => ({ missing: `the generic negative set could not be read: ${errorMessage(e)}` }));
  if ('missing' in shipped) notes.push(`${shipped.missing}: false accepts are measured on the owner's own negatives only`);
  else {
    const runs = shipped.runs.runs;
    for (const [i, r] of runs.entries()) {
      await addNegative(windowsOfRuns({ ...shipped.runs, runs: [r] }), FRAME_MS * shipped.runs.stride);
      progress.update(i + 1, runs.length);
    }
    progress.end();
  }
  if (verifier) notes.push('the miss rate is measured on the enrolment clips the verifier was trained on (optimistic)');
  const hours = negatives.reduce((h, n) => h + (n.base.length * n.frameMs) / 3_600_000, 0);
  if (hours > 0 && hours * p.target < 1) {
    notes.push(`the negatives are ${(hours * 60).toFixed(1)} min of audio: one false accept counts as ${(1 / hours).toFixed(1)} per hour, so the target is met only where none fires (add --background clips of the room)`);
  }
  const { live } = await runningConfig(p.ctx.config, p.ctx.deviceId, p.ctx.store);
  const floor = (await thresholdReport(p.ctx, word, undefined)).fleetFloor;
  return planTuning({
    positives,
    negatives,
    targetFaPerHour: p.target,
    floor,
    rules: { patienceFrames: live.wake.patienceFrames, refractoryMs: live.wake.refractoryMs },
    ...(verifier ? { verifier: { modelGate: verifier.gate } } : {}),
  });
}

function printPlan(io: CommandIO, o: { ownerId: string; wakeword: string; threshold: number; verifierGate: number | null; expectedMissRate: number; expectedFalseAcceptsPerHour: number; targetFaPerHour: number; met: boolean; enrolmentClips: number; negativeHours: number; falseWakes: number; verifier: boolean; fleetFloor: number; applied: boolean; inEffect: number; notes: string[] }): void {
  writeLine(io.stdout, `owner ${o.ownerId}, ${o.wakeword}${o.verifier ? ' (with their verifier)' : ''}:`);
  writeLine(io.stdout, `  recommended threshold ${o.threshold}${o.verifierGate !== null ? `, verifier gate ${o.verifierGate}` : ''}`);
  writeLine(io.stdout, `  expected miss rate ${pct(o.expectedMissRate)} on ${o.enrolmentClips} enrolment clip(s); ${o.expectedFalseAcceptsPerHour.toFixed(2)} false accepts per hour on ${(o.negativeHours * 60).toFixed(1)} min of negatives (${o.falseWakes} flagged false wake(s))`);
  if (!o.met) writeLine(io.stdout, `  no threshold up to 0.99 keeps false accepts within ${o.targetFaPerHour}/h: enrol more clips or flag false wakes`);
  for (const n of o.notes) writeLine(io.stdout, `  note: ${n}`);
  writeLine(io.stdout, o.applied ? `  applied: in effect ${o.inEffect} (fleet floor ${o.fleetFloor})` : `  not applied${o.met ? ' (add --apply)' : ''}; in effect now ${o.inEffect}`);
}

export const commands: Command[] = [tune];
