#!/usr/bin/env node
/**
 * Verifier training defaults against the evaluation corpus's TUNING voices only (the held-out four are what
 * scripts/measure-verifier.mjs reports on; nothing here reads them). Per tuning voice (9) and word (3): a verifier
 * trained, as `earshot enroll` does, on the windows of the voice's 3 enrolment clips (CORPUS/enrol/) against the
 * shipped generic negatives; judged as the detector judges (4 phases, the word's score is the verifier's
 * probability on a warm frame whose base score reaches the gate, else the base score; threshold 0.5) on
 *   - the voice's 12 test clips of the word (3 speeds × quiet / pink 20 dB / pink 10 dB / brown 10 dB; a hit in
 *     the phrase window, up to 1 s after the phrase), and
 *   - every near-miss clip by a tuning voice (a clip fires or not).
 * Each clip is scored once (base scores and, from 0.05 up, the best phase's window); configurations only re-run
 * the logistic regression, so a grid costs seconds after the first pass.
 *
 * `--augment`: also configurations whose positives include the enrolment clips with pink noise mixed in (at 20
 * and 10 dB SNR against the phrase's active level; seeded, not the corpus's noise) — the enrolment clips are
 * quiet-room recordings, and the verifier's misses are in pink noise. Adopted: `earshot enroll` makes exactly these
 * copies by default (--noisy-copies; the same function and seeds), so a configuration with `noisy copies` is what
 * enrolment trains today and one without is `enroll --noisy-copies none`.
 *
 * `--partial`: a grid of partial-phrase negatives (each enrolment clip cut part-way through its phrase, then its
 * own background: src/wakeword/partial-phrase.ts), on top of the noisy copies; `--configs JSON` runs a given list
 * of configurations instead (fields: positiveShare, l2, gate, augment, fractions, partialMinScore, weight,
 * enrolMinScore (a number, or 'gate': the pair's gate), lowGate with copyPeakBelow (the pair's gate is lowGate when a
 * noisy copy of an enrolment clip peaks below copyPeakBelow); each defaults to today's enrolment). Adopted: `earshot
 * enroll` makes the default cut (0.4, every frame after it) and chooses the gate by that rule (src/verifier/verifier-gate.ts).
 * `--ns DB`: the device's noise suppression in the detector and at enrolment (default 20 dB, the device's; 0 = off).
 * Every row also counts false accepts on the general audio (prose by these voices, noise, tones; 2 s refractory).
 *
 * `--diagnose`: every own-voice miss (was the base score below the gate on every frame of the phrase — the
 * verifier cannot help — or did the verifier veto, and at what probability?) and every near-miss fire (which
 * phrase, which voice, base score and verifier probability), for today's enrolment or each --configs row.
 *
 * `--held-out`: the same on the held-out voices instead — only to re-measure a configuration chosen on the
 * tuning voices (the default run, measured through `earshot enroll` and `earshot eval`, is
 * scripts/measure-verifier.mjs; this in-process judge gives the same own-voice misses for the defaults).
 *
 *   npm run build && node scripts/verifier-defaults-corpus.mjs [CORPUS_DIR] [--augment | --partial | --configs JSON] [--diagnose] [--held-out] [--ns DB]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (...p) => pathToFileURL(path.join(root, 'dist', ...p)).href;
const { loadManifest } = await import(dist('models', 'index.js'));
const { loadWakeModels, WakeScorer, featuresOfEnrolmentClip, featuresOfPartialPhrases, DEFAULT_QUIET_RMS, DEFAULT_NOISE_SUPPRESSION_DB, DEFAULT_PARTIAL_PHRASE_FRACTIONS, DEFAULT_PARTIAL_PHRASE_MIN_SCORE, withPinkNoise } = await import(dist('wakeword', 'index.js'));
const { readWavFile } = await import(dist('audio', 'index.js'));
const { trainVerifier, genericNegatives, verifierProbability, DEFAULT_VERIFIER_GATE } = await import(dist('verifier', 'index.js'));

const argv = process.argv.slice(2);
const partial = argv.includes('--partial') || argv.includes('--configs');
const diagnose = argv.includes('--diagnose');
const augment = argv.includes('--augment') || partial || diagnose;
const heldOut = argv.includes('--held-out');
/** The cut points (fractions of the voiced span) whose partial-phrase negatives the --partial grid combines. */
const PARTIAL_FRACTIONS = [0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8];
const valueFlags = ['--configs', '--ns'];
const corpus = path.resolve(argv.find((a, i) => !a.startsWith('--') && !valueFlags.includes(argv[i - 1])) ?? '.corpus');
// The device's noise suppression (wake.noiseSuppressionDb, engaged by the noise-floor rule), in the detector and at
// enrolment as `earshot enroll` hears the clips; `--ns 0`: off (how the study ran before the suppression was kept).
const nsArg = argv.indexOf('--ns');
const ns = nsArg >= 0 ? Number(argv[nsArg + 1]) : DEFAULT_NOISE_SUPPRESSION_DB;
const nsOpts = ns > 0 ? { noiseSuppressionDb: ns } : {};

// The noisy copies as `earshot enroll` makes them (src/wakeword/pink-noise.ts; this study defined them, the product adopted them).
const withNoise = withPinkNoise;
const WORDS = ['hey_jarvis', 'alexa', 'hey_mycroft'];
const posIndex = JSON.parse(readFileSync(path.join(corpus, 'positives', 'index.json'), 'utf8'));
const negIndex = JSON.parse(readFileSync(path.join(corpus, 'negatives', 'index.json'), 'utf8'));
const tuningVoices = posIndex.voices.filter((v) => v.heldOut === heldOut).map((v) => v.id);

const manifest = await loadManifest(path.join(root, 'models', 'manifest.json'));
const models = await loadWakeModels(manifest, WORDS);
const scorer = await WakeScorer.create(models.features, models.classifiers, { phases: 4, quietRms: DEFAULT_QUIET_RMS, ...nsOpts });
const negatives = await genericNegatives(manifest);
const pcm = async (f) => (await readWavFile(f)).pcm16k;

const CONFIGS = [];
const configsArg = argv.indexOf('--configs');
if (configsArg >= 0) {
  // --configs JSON: a list of configurations, each field defaulting to today's enrolment (noisy copies, product defaults).
  for (const c of JSON.parse(argv[configsArg + 1])) CONFIGS.push({ positiveShare: 0.1, l2: 0.005, gate: 0.1, augment: true, fractions: [...DEFAULT_PARTIAL_PHRASE_FRACTIONS], partialMinScore: DEFAULT_PARTIAL_PHRASE_MIN_SCORE, ...c });
  // enrolMinScore: the base score an enrolment window needs to be kept (default the product's, DEFAULT_VERIFIER_GATE).
} else if (partial) {
  // Partial-phrase negatives from the owner's own enrolment clips, at one or several cut points; `weight` repeats them.
  CONFIGS.push({ positiveShare: 0.1, l2: 0.005, gate: 0.1, augment: true, fractions: [] });
  for (const fractions of [[0.5], [0.6], [0.7], [0.4, 0.55, 0.7], [0.5, 0.6, 0.7]]) CONFIGS.push({ positiveShare: 0.1, l2: 0.005, gate: 0.1, augment: true, fractions });
  for (const weight of [4]) CONFIGS.push({ positiveShare: 0.1, l2: 0.005, gate: 0.1, augment: true, fractions: [0.4, 0.55, 0.7], weight });
} else if (augment) {
  for (const positiveShare of [0.1, 0.2]) for (const gate of [0.1, 0.05]) CONFIGS.push({ positiveShare, l2: 0.005, gate, augment: true });
  CONFIGS.push({ positiveShare: 0.1, l2: 0.005, gate: 0.1 });
} else {
  for (const positiveShare of [0.1, 0.2, 0.3, 0.5]) for (const l2 of [0.005, 0.02]) for (const gate of [0.1, 0.05]) CONFIGS.push({ positiveShare, l2, gate });
}
// --diagnose alone: only today's enrolment (noisy copies, product defaults), with every miss and near-miss fire explained.
if (diagnose && !partial) CONFIGS.splice(0, CONFIGS.length, { positiveShare: 0.1, l2: 0.005, gate: 0.1, augment: true });
// Windows are kept from this base score up (the lowest gate any configuration consults the verifier at).
const WINDOW_FLOOR = Math.min(0.05, ...CONFIGS.map((c) => Math.min(c.gate, c.lowGate ?? 1)));
const ENROL_FLOOR = Math.min(...CONFIGS.map((c) => (c.enrolMinScore === 'gate' ? Math.min(c.gate, c.lowGate ?? 1) : (c.enrolMinScore ?? DEFAULT_VERIFIER_GATE))));
/**
 * A gate per owner and word from the enrolment alone: `lowGate` when some noisy copy of an enrolment clip peaks
 * below `copyPeakBelow` (the base model does not hear this voice in that noise, so wait less for it), else `gate`.
 */
const gateOf = (cfg, d) => (cfg.lowGate !== undefined && d.noisy.some((x) => x.some((e) => e.peakScore < cfg.copyPeakBelow)) ? cfg.lowGate : cfg.gate);

/** Per word: the warm frames of a clip (end ms, base score, window when base ≥ 0.05). One pass for all words. */
async function frames(file) {
  scorer.reset();
  const out = WORDS.map(() => []);
  await scorer.feed(await pcm(file), (f) => {
    for (let w = 0; w < WORDS.length; w++) {
      if (!f.warm[w]) continue;
      const base = f.scores[w];
      let window;
      if (base >= WINDOW_FLOOR && !f.gated[w]) {
        window = new Float32Array(16 * 96);
        scorer.copyWindow(w, f.bestPhase[w], window);
      }
      out[w].push({ endMs: f.endMs, base, window });
    }
  });
  return out;
}
const score = (f, model, gate) => (model && f.base >= gate && f.window ? verifierProbability(model, f.window) : f.base);
function falseAccepts(fs, model, gate) {
  let n = 0;
  let last = -Infinity;
  for (const f of fs) {
    if (score(f, model, gate) >= 0.5 && f.endMs - last >= 2000) {
      n++;
      last = f.endMs;
    }
  }
  return n;
}
// The share of warm general-audio frames (over the words) on which the detector would run the verifier at this gate.
function consultedShare(gate) {
  let n = 0;
  let all = 0;
  for (const g of generalFrames) for (const fs of g) for (const f of fs) (all++, (n += f.base >= gate && f.window ? 1 : 0));
  return all ? n / all : 0;
}
const pct = (x) => `${(100 * x).toFixed(2)} %`;
const fires = (fs, model, gate, from = -Infinity, to = Infinity) => fs.some((f) => f.endMs >= from && f.endMs <= to && score(f, model, gate) >= 0.5);

const t0 = Date.now();
const near = negIndex.clips.filter((c) => c.kind === 'nearmiss' && c.heldOut === heldOut);
const nearFrames = [];
for (const [i, c] of near.entries()) {
  nearFrames.push(Object.assign(await frames(path.join(corpus, 'negatives', c.file)), { clip: c }));
  if (i % 20 === 0) process.stderr.write(`near misses ${i + 1}/${near.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}
// General audio (prose by these voices, noise, tones): false accepts, counted as the detector would (2 s refractory).
const generalClips = negIndex.clips.filter((c) => c.kind !== 'nearmiss' && (c.heldOut === heldOut || c.heldOut === undefined || c.heldOut === null));
const generalHours = generalClips.reduce((s, c) => s + c.durationMs, 0) / 3_600_000;
const generalFrames = [];
for (const c of generalClips) generalFrames.push(await frames(path.join(corpus, 'negatives', c.file)));
process.stderr.write(`general audio ${(generalHours * 60).toFixed(1)} min scored (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
const data = [];
for (const voice of tuningVoices) {
  for (const [wi, word] of WORDS.entries()) {
    const enrol = [];
    const noisy = [];
    const partials = [];
    for (let k = 1; k <= 3; k++) {
      const clip = await pcm(path.join(corpus, 'enrol', word, `${word}__${voice}__enrol${k}.wav`));
      const own = await featuresOfEnrolmentClip(models, clip, word, { minScore: ENROL_FLOOR, ...nsOpts });
      enrol.push(own);
      if (partial) {
        const byFraction = {};
        // As `earshot enroll` cuts them (the phrase ends before the clip's peak). Every frame after the cut
        // (minScore 0) with its base score: a configuration keeps those ≥ its partialMinScore.
        for (const fraction of PARTIAL_FRACTIONS) byFraction[fraction] = await featuresOfPartialPhrases(models, clip, word, { fractions: [fraction], minScore: 0, phraseBeforeMs: own.peakMs, ...nsOpts });
        partials.push(byFraction);
      }
      if (augment) {
        const extra = [];
        for (const [j, snr] of [20, 10].entries()) extra.push(await featuresOfEnrolmentClip(models, withNoise(clip, snr, 1000 * k + j + 7 * word.length), word, { minScore: ENROL_FLOOR, ...nsOpts }));
        noisy.push(extra);
      }
    }
    const tests = [];
    for (const c of posIndex.clips.filter((x) => x.word === word && x.voiceId === voice)) {
      tests.push({ clip: c, noise: c.noise, start: c.phraseStartMs, end: c.phraseEndMs + 1000, frames: (await frames(path.join(corpus, 'positives', c.file)))[wi] });
    }
    data.push({ voice, word, wi, enrol, noisy, partials, tests });
  }
  process.stderr.write(`scored ${voice} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}

const baseMiss = data.reduce((s, d) => s + d.tests.filter((t) => !fires(t.frames, undefined, 0.1, t.start, t.end)).length, 0);
const baseNear = data.reduce((s, d) => s + nearFrames.filter((n) => fires(n[d.wi], undefined, 0.1)).length, 0);
const enrollable = data.filter((d) => d.enrol.every((e) => e.peakScore >= 0.25));
console.log(`${heldOut ? 'HELD-OUT' : 'tuning'} voices ${tuningVoices.length}, pairs ${data.length} (${enrollable.length} enrollable: every clip's peak ≥ 0.25), near-miss clips ${near.length}`);
console.log(`base (no verifier), all pairs: own-voice misses ${baseMiss} of ${data.reduce((s, d) => s + d.tests.length, 0)}; near-miss fires ${baseNear}`);
console.log(`general audio ${(generalHours * 60).toFixed(1)} min per pair (one false accept = ${(1 / generalHours).toFixed(1)} per hour)`);
console.log('| positive share | l2 | gate | enrolment windows ≥ | noisy copies | partial-phrase negatives | own-voice misses (enrollable pairs) | pairs with 0 misses | by background | near-miss fires: base → verified (by own voice) | pairs ≤ half | general false accepts: base → verified (pairs > 0.3/h) | general-audio frames consulted |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const cfg of CONFIGS) {
  let miss = 0;
  let total = 0;
  let clean = 0;
  let nb = 0;
  let nv = 0;
  let half = 0;
  let ownNear = 0;
  let faBase = 0;
  let faVerified = 0;
  let faPairs = 0;
  let ownNearBase = 0;
  const diag = [];
  let lowPairs = 0;
  const byNoise = {};
  for (const d of enrollable) {
    const positives = [];
    const positiveClip = [];
    const gate = gateOf(cfg, d);
    if (cfg.lowGate !== undefined && gate === cfg.lowGate) lowPairs++;
    const enrolMin = cfg.enrolMinScore === 'gate' ? gate : (cfg.enrolMinScore ?? DEFAULT_VERIFIER_GATE);
    const keep = (e, c) => e.windows.forEach((w, i) => e.scores[i] >= enrolMin && (positives.push(w), positiveClip.push(c)));
    d.enrol.forEach((e, c) => keep(e, c));
    // Noisy copies count as the same enrolment clip (leave-one-clip-out leaves them out together).
    if (cfg.augment) d.noisy.forEach((extra, c) => extra.forEach((e) => keep(e, c)));
    // Partial-phrase negatives belong to their clip, as `earshot enroll` stores them (left out with it in cross-validation).
    const clipNegatives = [];
    const clipNegativeClip = [];
    const minPartial = cfg.partialMinScore ?? gate;
    d.partials.forEach((byFraction, c) => {
      for (const f of cfg.fractions ?? []) {
        for (let r = 0; r < (cfg.weight ?? 1); r++) {
          byFraction[f].windows.forEach((w, i) => {
            if (byFraction[f].scores[i] >= minPartial) (clipNegatives.push(w), clipNegativeClip.push(c));
          });
        }
      }
    });
    const model = trainVerifier({ positives, positiveClip, negatives, clipNegatives, clipNegativeClip }, { wakeword: d.word, now: 0, gate: gate, positiveShare: cfg.positiveShare, l2: cfg.l2 });
    let m = 0;
    for (const t of d.tests) {
      const missed = !fires(t.frames, model, gate, t.start, t.end);
      m += missed ? 1 : 0;
      byNoise[t.noise] = (byNoise[t.noise] ?? 0) + (missed ? 1 : 0);
      if (missed && diagnose) {
        // Can the verifier help at all here? Frames in the hit window whose base score reaches the gate.
        const inWin = t.frames.filter((f) => f.endMs >= t.start && f.endMs <= t.end);
        const consulted = inWin.filter((f) => f.base >= gate && f.window);
        const maxBase = Math.max(...inWin.map((f) => f.base));
        const maxP = consulted.length ? Math.max(...consulted.map((f) => verifierProbability(model, f.window))) : NaN;
        // What a lower gate would see: the verifier's best probability on any frame of the window with a window kept (base ≥ WINDOW_FLOOR).
        const anyP = inWin.filter((f) => f.window).map((f) => ({ base: f.base, p: verifierProbability(model, f.window) }));
        const bestAny = anyP.reduce((x, y) => (y.p > x.p ? y : x), { base: NaN, p: -Infinity });
        diag.push(`miss ${d.word} ${d.voice} ${t.clip.file}: max base ${maxBase.toFixed(3)}, ${consulted.length} frames ≥ gate, max verifier p ${Number.isNaN(maxP) ? '—' : maxP.toFixed(3)} → ${consulted.length === 0 ? 'below gate (verifier cannot help)' : 'verifier veto'}; at any frame ≥ ${WINDOW_FLOOR}: best p ${bestAny.p === -Infinity ? '—' : `${bestAny.p.toFixed(3)} (base ${bestAny.base.toFixed(3)})`}`);
      }
    }
    if (diagnose) diag.push(`enrolment ${d.word} ${d.voice}: clip peaks ${d.enrol.map((e) => e.peakScore.toFixed(3)).join(' ')}; noisy copies (20, 10 dB) ${d.noisy.map((x) => x.map((e) => e.peakScore.toFixed(3)).join('/')).join(' ')}; ${positives.length} positive windows, ${m} missed`);
    miss += m;
    total += d.tests.length;
    if (m === 0) clean++;
    const b = nearFrames.filter((n) => fires(n[d.wi], undefined, gate)).length;
    const fired = nearFrames.filter((n) => fires(n[d.wi], model, gate));
    const v = fired.length;
    ownNear += fired.filter((n) => n.clip.voiceId === d.voice).length;
    ownNearBase += nearFrames.filter((n) => n.clip.voiceId === d.voice && fires(n[d.wi], undefined, gate)).length;
    if (diagnose) {
      for (const n of fired) {
        const fs = n[d.wi].filter((f) => score(f, model, gate) >= 0.5);
        const top = fs.reduce((a, f) => (score(f, model, gate) > score(a, model, gate) ? f : a));
        diag.push(`near-miss fire ${d.word} ${d.voice}: "${n.clip.text}" by ${n.clip.voiceId} ${n.clip.noise} (${n.clip.file}): ${fs.length} frames ≥ 0.5, best at ${top.endMs} ms base ${top.base.toFixed(3)} verifier p ${score(top, model, gate).toFixed(3)}`);
      }
    }
    nb += b;
    nv += v;
    if (v <= b / 2) half++;
    const fa = generalFrames.reduce((s, g) => s + falseAccepts(g[d.wi], model, gate), 0);
    faBase += generalFrames.reduce((s, g) => s + falseAccepts(g[d.wi], undefined, gate), 0);
    faVerified += fa;
    if (fa / generalHours > 0.3) faPairs++;
  }
  const partialNote = cfg.fractions?.length ? `${cfg.fractions.join(' + ')}${cfg.weight ? ` ×${cfg.weight}` : ''}${cfg.partialMinScore !== undefined ? `, frames ≥ ${cfg.partialMinScore}` : ''}` : '—';
  console.log(`| ${cfg.positiveShare} | ${cfg.l2} | ${cfg.lowGate !== undefined ? `${cfg.lowGate} if a noisy copy peaks < ${cfg.copyPeakBelow} (${lowPairs} pairs), else ${cfg.gate}` : cfg.gate} | ${cfg.enrolMinScore ?? DEFAULT_VERIFIER_GATE} | ${cfg.augment ? 'pink 20 + 10 dB' : '—'} | ${partialNote} | ${miss} of ${total} | ${clean} of ${enrollable.length} | ${Object.entries(byNoise).map(([k, x]) => `${k} ${x}`).join(', ')} | ${nb} → ${nv} (${ownNearBase} → ${ownNear}) | ${half} of ${enrollable.length} | ${faBase} → ${faVerified} (${faPairs}) | ${pct(consultedShare(cfg.lowGate ?? cfg.gate))} |`);
  for (const line of diag) console.log(`    ${line}`);
}
process.stderr.write(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
