/**
 * `earshot eval`: false-reject rate, false accepts per hour, near-miss fires, latency and a threshold sweep for
 * one or more wake words under one or more setups side by side, on labelled directories of clips, with an
 * optional DET plot (SVG).
 */
import { writeFile } from 'node:fs/promises';
import { EarshotError, errorMessage } from '../../core/index.js';
import { DEFAULT_MANIFEST, loadManifest } from '../../models/index.js';
import {
  detPlotSvg,
  parseSetup,
  runEvaluation,
  thresholdOf,
  TRACE_DIR,
  withOwner,
  type EvalSetup,
  type EvaluationReport,
  type OwnerWakeView,
  type VoiceSplit,
} from '../../eval/index.js';
import { fleetThresholdFloor } from '../../fleet/index.js';
import { requiredOption, stringOption, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { withApp } from '../command-context.js';
import { ownerOption } from '../owner-option.js';
import { runningConfig } from './owner-wake.js';

const SPLITS: VoiceSplit[] = ['all', 'held-out', 'tuning'];
const SWEEP_SHOWN = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/**
 * Each setup with the owner it names (or `--owner`'s), as the daemon would run the words for that owner: their
 * verifiers, gates and own thresholds, opened through the application layer with the owner's key.
 */
async function resolveOwners(setups: EvalSetup[], words: string[], args: ParsedArgs, io: CommandIO): Promise<EvalSetup[]> {
  const fallback = ownerOption(args);
  const ownerOf = (s: EvalSetup): string | undefined => (s.owner === null ? undefined : (s.owner ?? fallback));
  const ids = [...new Set(setups.map(ownerOf).filter((x): x is string => x !== undefined))];
  if (ids.length === 0) return setups;
  const views = await withApp(args, io, async (app, ctx) => {
    const floor = fleetThresholdFloor((await runningConfig(ctx.config, ctx.deviceId, ctx.store)).documents);
    const out = new Map<string, OwnerWakeView>();
    for (const id of ids) {
      const settings = await app.wakeSettings(id);
      out.set(id, { ownerId: id, verifiers: await app.verifiersFor(id), thresholds: settings.thresholds, verifierGates: settings.verifierGates, fleetFloor: floor });
    }
    return out;
  });
  return setups.map((s) => {
    const id = ownerOf(s);
    if (id === undefined) return s;
    const r = withOwner(s, words, views.get(id)!);
    const v = Object.entries(r.verifiers ?? {}).map(([w, m]) => `${w} (gate ${m.gate})`);
    writeLine(io.stderr, `eval: ${s.name}: verifiers of ${id}: ${v.join(', ') || 'none for these words'}`);
    return r;
  });
}

function printText(report: EvaluationReport, out: NodeJS.WritableStream): void {
  writeLine(out, `voices: ${report.split}; general audio ${(report.generalHours * 60).toFixed(1)} min; near misses ${report.nearMissMinutes.toFixed(1)} min`);
  for (const s of report.setups.filter((x) => x.verifiers !== undefined)) {
    const v = Object.entries(s.verifiers!).map(([w, m]) => `${w} gate ${m.gate} (${m.clips} clips, cross-validated ${Math.round(m.cvRecall * 100)} %)`);
    writeLine(out, `setup ${s.name}: verifiers of ${s.owner}: ${v.join('; ')}`);
  }
  for (const s of report.setups.filter((x) => x.voice !== undefined)) writeLine(out, `setup ${s.name}: only the positives of voice ${s.voice} count`);
  for (const word of report.words) {
    writeLine(out, '');
    writeLine(out, `${word}: ${report.positives[word]} positive clips`);
    writeLine(out, `  ${'setup'.padEnd(14)} ${'thr'.padStart(5)} ${'FRR'.padStart(8)} ${'FA/h'.padStart(7)} ${'near-miss'.padStart(10)} ${'(own)'.padStart(6)} ${'bg fires'.padStart(9)}  latency median / p90`);
    for (const r of report.results.filter((x) => x.word === word)) {
      const a = r.at;
      const lat = a.latencyMs ? `${a.latencyMs.median} / ${a.latencyMs.p90} ms` : '—';
      writeLine(
        out,
        `  ${r.setup.padEnd(14)} ${a.threshold.toFixed(2).padStart(5)} ${pct(a.frr).padStart(8)} ${a.faPerHour.toFixed(2).padStart(7)} ${String(a.nearMissFires).padStart(10)} ${String(a.nearMissFiresOwn).padStart(6)} ${String(a.positiveBackgroundFires).padStart(9)}  ${lat}`,
      );
    }
    for (const r of report.results.filter((x) => x.word === word)) {
      const groups = Object.entries(r.at.byNoise)
        .map(([k, g]) => `${k} ${pct(g.frr)}`)
        .join(', ');
      writeLine(out, `  ${r.setup}: FRR by background: ${groups}`);
      const voices = Object.entries(r.at.byVoice)
        .map(([k, g]) => `${k} ${pct(g.frr)}`)
        .join(', ');
      writeLine(out, `  ${r.setup}: FRR by voice: ${voices}`);
    }
    writeLine(out, `  sweep (FRR / FA/h / near-miss fires):`);
    writeLine(out, `  ${'thr'.padEnd(5)} ${report.results.filter((x) => x.word === word).map((r) => r.setup.padStart(24)).join(' ')}`);
    for (const t of SWEEP_SHOWN) {
      const cells = report.results
        .filter((x) => x.word === word)
        .map((r) => {
          const p = r.sweep.find((s) => Math.abs(s.threshold - t) < 1e-9)!;
          return `${pct(p.frr)} / ${p.faPerHour.toFixed(2)} / ${p.nearMissFires}`.padStart(24);
        });
      writeLine(out, `  ${t.toFixed(2).padEnd(5)} ${cells.join(' ')}`);
    }
    for (const r of report.results.filter((x) => x.word === word && x.recommendation)) {
      const rec = r.recommendation!;
      writeLine(
        out,
        `  ${r.setup}: recommended threshold ${rec.threshold.toFixed(2)}${rec.met ? '' : ' (target not met)'}: FRR ${pct(rec.expectedFrr)}, ${rec.expectedFaPerHour.toFixed(2)} FA/h on general audio`,
      );
    }
  }
}

const evalCommand: Command = {
  path: ['eval'],
  summary: 'measure wake-word misses, false accepts per hour, near-miss fires and latency on labelled clips',
  usage:
    'earshot eval --wakeword NAME [--wakeword NAME ...] --positives DIR --negatives DIR [--setup SPEC ...] [--voices all|held-out|tuning] [--plot FILE.svg] [--owner ID] [--target-fa-per-hour X [--min-threshold X]] [--no-cache] [--json]',
  help: [
    'Options:',
    '  --wakeword NAME    model name from models/manifest.json (repeatable: scored together, reported per word)',
    '  --positives DIR    clips that contain the wake phrase. With DIR/index.json (as scripts/make-eval-corpus.mjs',
    '                     writes it: {"clips":[{"file","word","phraseStartMs","phraseEndMs","noise","heldOut"}]})',
    '                     a hit must come after the phrase starts and ≤ 1 s after it ends; other detections in the',
    '                     clip count as background fires. Without an index every WAV is a positive of the one word.',
    '  --negatives DIR    clips without the phrase; index entries with "kind":"nearmiss" are near misses, the rest',
    '                     general audio (false accepts per hour are on general audio)',
    '  --setup SPEC       reference (faithful openWakeWord: 1 phase, no quiet gate, threshold 0.5), default (device',
    '                     defaults), or NAME:key=value,… on top of default (base=reference to start from reference);',
    '                     keys: phases, quiet (off|RMS), look (on|off|GATE: with 4 phases, also score the other 4',
    '                     of 8 phases while a base score is ≥ GATE; on = 0.1), lookhold (frames it stays on after, default 25),',
    '                     threshold, threshold.WORD, patience, refractory,',
    '                     owner (an owner id: that owner\'s verifiers, gates and own thresholds; none: without),',
    '                     voice (a voiceId of the positives\' index: only that voice\'s positives count).',
    '                     Repeatable; default: --setup reference --setup default',
    '  --owner ID         apply this owner\'s household verifiers (earshot enroll), their verifier gates and own',
    '                     thresholds (never below the fleet floor; a threshold the setup sets wins) to every setup',
    '                     that does not name an owner. Verified traces are cached apart; a clip on which no',
    '                     verifier is consulted (base score below its gate) keeps the unverified trace, unscored.',
    '  --voices SPLIT     all (default), held-out (only voices marked heldOut), tuning (only the others)',
    '  --plot FILE.svg    write the DET curves (false-reject rate against false accepts per hour, log x)',
    '  --target-fa-per-hour X  also recommend each setup’s threshold for that many false accepts per hour',
    '  --min-threshold X  lowest threshold to recommend (default 0.05)',
    '  --no-cache         score everything again (traces are otherwise kept under DIR/' + TRACE_DIR + '/)',
    '  --manifest FILE    model manifest (default models/manifest.json)',
    '  --json             the whole report as one JSON object (sweep: every threshold 0.01 … 0.99)',
    '',
    'Each clip is scored once per setup and model set; thresholds are judged on the stored score traces by the',
    "device's own decision logic (patience, refractory), so a sweep costs no extra scoring. Progress on stderr.",
    '',
    'Example: earshot eval --wakeword hey_jarvis --positives .corpus/positives --negatives .corpus/negatives \\',
    '           --voices held-out --setup reference --setup default --plot det.svg',
  ].join('\n'),
  options: {
    wakeword: { type: 'string', multiple: true },
    positives: { type: 'string' },
    negatives: { type: 'string' },
    setup: { type: 'string', multiple: true },
    voices: { type: 'string' },
    plot: { type: 'string' },
    'target-fa-per-hour': { type: 'string' },
    'min-threshold': { type: 'string' },
    'no-cache': { type: 'boolean' },
    manifest: { type: 'string' },
    owner: { type: 'string' },
  },
  async run(args, io) {
    const words = (args.values['wakeword'] as string[] | undefined) ?? [];
    if (words.length === 0) throw new EarshotError('BAD_ARGUMENT', '--wakeword is required');
    if (new Set(words).size !== words.length) throw new EarshotError('BAD_ARGUMENT', 'each --wakeword may be given once');
    const positivesDir = requiredOption(args, 'positives');
    const negativesDir = requiredOption(args, 'negatives');
    const split = (stringOption(args, 'voices') ?? 'all') as VoiceSplit;
    if (!SPLITS.includes(split)) throw new EarshotError('BAD_ARGUMENT', `--voices must be one of ${SPLITS.join(', ')} (got '${split}')`);
    const parsed = ((args.values['setup'] as string[] | undefined) ?? ['reference', 'default']).map(parseSetup);
    const targetText = stringOption(args, 'target-fa-per-hour');
    const target = targetText === undefined ? undefined : Number(targetText);
    if (target !== undefined && !(Number.isFinite(target) && target >= 0)) {
      throw new EarshotError('BAD_ARGUMENT', `--target-fa-per-hour must be a number ≥ 0 (got '${targetText}')`);
    }
    const minText = stringOption(args, 'min-threshold');
    const minThreshold = minText === undefined ? undefined : Number(minText);
    if (minThreshold !== undefined && !(minThreshold > 0 && minThreshold <= 1)) {
      throw new EarshotError('BAD_ARGUMENT', `--min-threshold must be a number in (0, 1] (got '${minText}')`);
    }
    const plot = stringOption(args, 'plot');
    const manifest = await loadManifest(stringOption(args, 'manifest') ?? DEFAULT_MANIFEST);
    const setups = await resolveOwners(parsed, words, args, io);
    const started = Date.now();
    let lastProgress = 0;
    const report = await runEvaluation({
      words,
      positivesDir,
      negativesDir,
      setups,
      manifest,
      split,
      cache: args.values['no-cache'] !== true,
      ...(target !== undefined ? { targetFaPerHour: target } : {}),
      ...(minThreshold !== undefined ? { minThreshold } : {}),
      signal: io.signal,
      onProgress: (setup, what, done, total, audioMs, reused) => {
        const now = Date.now();
        if (done !== total && now - lastProgress < 2000) return;
        lastProgress = now;
        const kept = reused > 0 ? `, ${reused} without a verifier call` : '';
        writeLine(io.stderr, `eval: ${setup}: ${what} ${done}/${total} clips (${(audioMs / 60_000).toFixed(1)} min of audio${kept}), ${((now - started) / 1000).toFixed(0)} s`);
      },
    });
    if (plot !== undefined) {
      // Row 1: false accepts on general audio (the DET curve proper). Row 2, when near misses are labelled: the
      // same thresholds against fires per hour of near-miss audio, where the setups differ most.
      const nearRate = (fires: number): number => (report.nearMissMinutes > 0 ? (fires * 60) / report.nearMissMinutes : 0);
      // A setup with a voice filter counts fewer positives: say so in the title (e.g. "48 / 12 clips").
      const clipsOf = (word: string): string => [...new Set(report.results.filter((r) => r.word === word).map((r) => r.at.positives))].join(' / ');
      const panelsOf = (near: boolean) =>
        words.map((word) => ({
          title: `${word} (${clipsOf(word)} clips) — ${near ? `${report.nearMissMinutes.toFixed(1)} min near misses` : `${(report.generalHours * 60).toFixed(1)} min general audio`}`,
          xLabel: near ? 'near-miss fires per hour of near-miss audio (log)' : 'false accepts per hour of general audio (log)',
          series: report.results
            .filter((r) => r.word === word)
            .map((r) => ({
              name: r.setup,
              points: r.sweep.map((p) => ({ frr: p.frr, faPerHour: near ? p.nearMissPerHour : p.faPerHour })),
              operating: {
                faPerHour: near ? nearRate(r.at.nearMissFires) : r.at.faPerHour,
                frr: r.at.frr,
                threshold: thresholdOf(setups.find((s) => s.name === r.setup)!, word),
              },
            })),
        }));
      const svg = detPlotSvg({
        title: `DET: false-reject rate against false accepts (voices: ${split})`,
        columns: words.length,
        panels: [...panelsOf(false), ...(report.nearMissMinutes > 0 ? panelsOf(true) : [])],
      });
      try {
        await writeFile(plot, svg);
      } catch (e) {
        throw new EarshotError('BAD_ARGUMENT', `cannot write the plot ${plot}: ${errorMessage(e)}`);
      }
    }
    if (args.values['json'] === true) writeLine(io.stdout, JSON.stringify(report));
    else printText(report, io.stdout);
    if (plot !== undefined) writeLine(io.stderr, `eval: DET plot written to ${plot}`);
    return 0;
  },
};

export const commands: Command[] = [evalCommand];
