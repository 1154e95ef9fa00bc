/**
 * Wake-word commands: `earshot detect FILE.wav`, `earshot models list`, `earshot models verify`.
 */
import { readWavFile } from '../../audio/index.js';
import type { WakeWordConfig } from '../../config/index.js';
import { EarshotError } from '../../core/index.js';
import { DEFAULT_MANIFEST, loadManifest, resolveModelPath } from '../../models/index.js';
import { verifyModels, WakeDetector } from '../../wakeword/index.js';
import { writeLine, type Command, type ParsedArgs } from '../command.js';
import { commandConfig, withApp } from '../command-context.js';
import { runningConfig } from './owner-wake.js';
import { wakeWithOwnerThresholds } from '../../fleet/index.js';
import { ownerOption } from '../owner-option.js';
import type { VerifierModel } from '../../verifier/index.js';

function manifestPath(args: ParsedArgs): string {
  const v = args.values['manifest'];
  return typeof v === 'string' && v !== '' ? v : DEFAULT_MANIFEST;
}

function numberOption(args: ParsedArgs, name: string, check: (x: number) => boolean, what: string): number | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x) || !check(x)) {
    throw new EarshotError('BAD_ARGUMENT', `--${name} must be ${what} (got '${String(v)}')`);
  }
  return x;
}

/** Scores rounded for output: two decimals, like openWakeWord's usual reporting. */
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

const detect: Command = {
  path: ['detect'],
  summary: 'run the wake-word detector over a WAV file and print the detections',
  usage: 'earshot detect FILE.wav [--wakeword NAME ...] [--threshold X] [--phases N] [--owner ID] [--scores] [--json]',
  help: [
    'Options:',
    '  --wakeword NAME   model name from models/manifest.json (repeatable; default: the config wake.words)',
    '  --threshold X     score threshold in (0, 1] for every word (default: config, per word)',
    '  --phases N        chunk phases scored per 80 ms, 1 = openWakeWord reference (default: config wake.phases)',
    '  --manifest FILE   model manifest (default models/manifest.json)',
    "  --owner ID        apply this owner's household verifiers (earshot enroll) to the words they enrolled",
    '  --scores          print every 80 ms frame\'s score per word (for tuning by hand), detections marked',
    '  --json            one JSON object per detection: {"wakeword":"hey_jarvis","score":0.97,"atMs":1840};',
    '                    with --scores one per frame: {"endMs":1840,"scores":{"hey_jarvis":0.973},"warm":true,"fired":["hey_jarvis"]}',
    '',
    'atMs is the audio time of the end of the detecting 80 ms frame. Any PCM or float WAV is converted to',
    '16 kHz mono first.',
  ].join('\n'),
  options: {
    wakeword: { type: 'string', multiple: true },
    threshold: { type: 'string' },
    phases: { type: 'string' },
    manifest: { type: 'string' },
    owner: { type: 'string' },
    scores: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length !== 1) throw new EarshotError('BAD_ARGUMENT', 'expected exactly one WAV file');
    const owner = ownerOption(args);
    const file = args.positionals[0]!;
    const threshold = numberOption(args, 'threshold', (x) => x > 0 && x <= 1, 'a number in (0, 1]');
    const phases = numberOption(args, 'phases', (x) => Number.isInteger(x) && x >= 1 && x <= 8, 'an integer from 1 to 8');
    const config = await commandConfig(args, io);
    const named = args.values['wakeword'] as string[] | undefined;
    const words: WakeWordConfig[] =
      named && named.length > 0
        ? named.map((name) => ({ name }))
        : config.wake.words.map((w) => (threshold === undefined ? w : { name: w.name }));
    // Read the audio first: a bad file should fail fast, before models load.
    const wav = await readWavFile(file);
    // The owner's verifiers and own thresholds come through the application layer (opened with their key), for the
    // words listened for: the word runs as it would in the daemon for that owner (an explicit --threshold wins).
    const verifiers: Record<string, VerifierModel> = {};
    if (owner !== undefined) {
      const mine = await withApp(args, io, async (app, ctx) => ({
        all: await app.verifiersFor(owner),
        settings: await app.wakeSettings(owner),
        documents: (await runningConfig(ctx.config, ctx.deviceId, ctx.store)).documents,
      }));
      if (threshold === undefined) {
        const owned = wakeWithOwnerThresholds({ ...config.wake, words }, mine.documents, (w) => mine.settings.thresholds[w]);
        words.splice(0, words.length, ...owned.words);
      }
      for (const w of words) {
        const m = Object.hasOwn(mine.all, w.name) ? mine.all[w.name]! : undefined;
        if (m === undefined) continue;
        const t = threshold ?? w.threshold ?? config.wake.threshold;
        const gate = Math.min(mine.settings.verifierGates[w.name] ?? m.gate, t);
        verifiers[w.name] = gate === m.gate ? m : { ...m, gate };
      }
      const own = words.filter((w) => mine.settings.thresholds[w.name] !== undefined).map((w) => `${w.name} ${w.threshold}`);
      writeLine(io.stderr, `verifiers of ${owner}: ${Object.keys(verifiers).join(', ') || 'none for these words'}${own.length > 0 && threshold === undefined ? `; own thresholds: ${own.join(', ')}` : ''}`);
    }
    const detector = await WakeDetector.create({
      words,
      threshold: threshold ?? config.wake.threshold,
      patienceFrames: config.wake.patienceFrames,
      refractoryMs: config.wake.refractoryMs,
      phases: phases ?? config.wake.phases,
      vadGate: config.wake.vadGate,
      noiseSuppressionDb: config.wake.noiseSuppressionDb,
      manifest: manifestPath(args),
      ...(Object.keys(verifiers).length > 0 ? { verifiers } : {}),
    });
    const json = args.values['json'] === true;
    if (args.values['scores'] === true) return printScores(detector, wav.pcm16k, json, io.stdout);
    const found = await detector.push(wav.pcm16k);
    for (const d of found) {
      if (json) writeLine(io.stdout, JSON.stringify({ wakeword: d.wakeword, score: round2(d.score), atMs: d.atMs, ...(verifiers[d.wakeword] && d.baseScore !== undefined ? { baseScore: round2(d.baseScore) } : {}) }));
      else writeLine(io.stdout, `${(d.atMs / 1000).toFixed(2)} s  ${d.wakeword}  score ${d.score.toFixed(2)}`);
    }
    if (!json) {
      writeLine(io.stderr, `${found.length} detection(s) in ${(wav.pcm16k.length / 16000).toFixed(1)} s of audio (words: ${detector.words.join(', ')})`);
    }
    return 0;
  },
};

/** Scores rounded for the per-frame readout: three decimals, enough to see a score creep towards a threshold. */
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** `detect --scores`: every frame's score per word, with the detections of that frame. */
async function printScores(detector: WakeDetector, pcm: Int16Array, json: boolean, out: NodeJS.WritableStream): Promise<number> {
  const words = detector.words;
  const frames: { endMs: number; scores: number[]; warm: boolean }[] = [];
  const found = await detector.push(pcm, (f) => {
    frames.push({ endMs: f.endMs, scores: Array.from(f.scores, round3), warm: f.warm.every(Boolean) });
  });
  const firedAt = new Map<number, string[]>();
  for (const d of found) firedAt.set(d.atMs, [...(firedAt.get(d.atMs) ?? []), d.wakeword]);
  if (!json) writeLine(out, `${'time'.padStart(8)}  ${words.map((w) => w.padStart(Math.max(8, w.length))).join('  ')}`);
  for (const f of frames) {
    const fired = firedAt.get(f.endMs) ?? [];
    if (json) {
      writeLine(out, JSON.stringify({ endMs: f.endMs, scores: Object.fromEntries(words.map((w, i) => [w, f.scores[i]])), warm: f.warm, fired }));
    } else {
      const cells = words.map((w, i) => f.scores[i]!.toFixed(3).padStart(Math.max(8, w.length))).join('  ');
      const notes = [f.warm ? '' : 'warming up', fired.length > 0 ? `fired: ${fired.join(', ')}` : ''].filter((x) => x !== '').join('; ');
      writeLine(out, `${(f.endMs / 1000).toFixed(2).padStart(6)} s  ${cells}${notes ? '  ' + notes : ''}`);
    }
  }
  return 0;
}

const modelsList: Command = {
  path: ['models', 'list'],
  summary: 'list the pinned models (kind, source, licence, SHA-256)',
  usage: 'earshot models list [--manifest FILE] [--json]',
  options: { manifest: { type: 'string' } },
  async run(args, io) {
    const manifest = await loadManifest(manifestPath(args));
    if (args.values['json'] === true) {
      const rows = manifest.models.map((m) => ({
        name: m.name,
        kind: m.kind,
        file: m.file,
        source: m.source,
        sha256: m.sha256,
        licence: m.licence,
        inputs: m.inputs.map((t) => t.name),
        outputs: m.outputs.map((t) => t.name),
        path: resolveModelPathSafe(manifest, m),
      }));
      writeLine(io.stdout, JSON.stringify(rows));
      return 0;
    }
    for (const m of manifest.models) {
      const src = m.source.type === 'npm' ? `${m.source.package}@${m.source.version}/${m.source.path}` : `local: ${m.source.path}`;
      writeLine(io.stdout, `${m.name.padEnd(15)} ${m.kind.padEnd(9)} ${m.licence.padEnd(16)} ${m.sha256.slice(0, 12)}…  ${src}`);
    }
    return 0;
  },
};

function resolveModelPathSafe(manifest: Awaited<ReturnType<typeof loadManifest>>, m: Parameters<typeof resolveModelPath>[1]): string | null {
  try {
    return resolveModelPath(manifest, m);
  } catch {
    // Reported by `models verify`; listing still works without the package installed.
    return null;
  }
}

const modelsVerify: Command = {
  path: ['models', 'verify'],
  summary: 'check every model file against its pinned SHA-256, and regenerate derived models (non-zero exit if any fails)',
  usage: 'earshot models verify [--manifest FILE] [--json]',
  help: [
    'A derived model (the streaming embedding model) is also regenerated from its pinned source with the',
    'generator version recorded in the manifest; the result must have the pinned hash too.',
  ].join('\n'),
  options: { manifest: { type: 'string' } },
  async run(args, io) {
    const manifest = await loadManifest(manifestPath(args));
    const results = await verifyModels(manifest);
    if (args.values['json'] === true) {
      writeLine(io.stdout, JSON.stringify({ ok: results.every((r) => r.ok), models: results }));
    } else {
      for (const r of results) {
        const regenerated = r.regenerated ? ', regenerated from its source: same hash' : '';
        writeLine(io.stdout, r.ok ? `ok    ${r.name} (${r.file}${regenerated})` : `FAIL  ${r.name}: ${r.code}: ${r.message}`);
      }
    }
    const bad = results.filter((r) => !r.ok).length;
    if (bad > 0 && args.values['json'] !== true) writeLine(io.stderr, `earshot models verify: ${bad} of ${results.length} models failed`);
    return bad > 0 ? 1 : 0;
  },
};

export const commands: Command[] = [detect, modelsList, modelsVerify];
