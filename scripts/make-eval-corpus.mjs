#!/usr/bin/env node
// Builds Earshot's wake-word evaluation corpus (issue 13 §1) with espeak-ng, flite, festival and sox.
//
//   node scripts/make-eval-corpus.mjs [OUT_DIR] [--jobs N] [--sample]     (default OUT_DIR: .corpus, git-ignored)
//
// Output (16 kHz mono s16 WAV; every directory has an index.json describing its clips):
//   positives/<word>/…   3 wake words × 13 voices × 3 speeds × 4 backgrounds (clean room, pink 20 dB, pink 10 dB,
//                        brown 10 dB). Each clip is 3 s (+ 0–79 ms) of its own background, the phrase mixed into
//                        that background, then 1.2 s more: judged as a device hears it, continuous audio first.
//   negatives/prose/…    other speech: each voice reads 32 lines of scripts/fixtures-negative.txt (clean room or
//                        pink 20 dB, alternating by voice)
//   negatives/nearmiss/… phrases close to a wake word ("hey jar", "a lexus", "hey microsoft" …), every voice,
//                        labelled with the word they are close to
//   negatives/noise/…    pink, brown and white noise at two levels; negatives/tones/… beeps, a sweep, a chord, DTMF
//   enrol/<word>/…       per voice and word, 3 enrolment clips distinct from the test clips (speed ×0.93, ×1.07,
//                        and ×1.0 raised by 150 cents; quiet room), for verifier enrolment (issue 13 §6)
//
// HELD OUT voices (nothing is tuned or trained on them; reported numbers are on them): espeak-ng en-gb-scotland,
// espeak-ng en-029, flite rms, festival ked_diphone. Every index entry carries `heldOut`.
//
// Deterministic: fixed voice and speed lists, noise from a seeded generator (mulberry32 per clip, seeded from
// the clip's name), sox runs with -R. The TTS engines are deterministic for a given installed version; the index
// records the engine versions. --sample writes only a few clips (test/fixtures/eval-sample is made that way).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RATE = 16000;

// ---- arguments ------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
let out = path.join(root, '.corpus');
let jobs = 2;
let sample = false;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--jobs') jobs = Number(argv[++i]);
  else if (a === '--sample') sample = true;
  else if (a === '--help' || a === '-h') {
    console.log('usage: node scripts/make-eval-corpus.mjs [OUT_DIR] [--jobs N] [--sample]');
    process.exit(0);
  } else if (a.startsWith('-')) {
    console.error(`make-eval-corpus: unknown option ${a}`);
    process.exit(2);
  } else out = path.resolve(a);
}
if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16) {
  console.error('make-eval-corpus: --jobs must be an integer from 1 to 16');
  process.exit(2);
}

// ---- voices, words, conditions ----------------------------------------------------------------------
/** engine|voice: 13 voices; the 4 marked heldOut are never tuned or trained on. */
const VOICES = [
  { engine: 'espeak-ng', voice: 'en-us' },
  { engine: 'espeak-ng', voice: 'en-gb' },
  { engine: 'espeak-ng', voice: 'en+f3' },
  { engine: 'espeak-ng', voice: 'en-us+m7' },
  { engine: 'espeak-ng', voice: 'en-gb-scotland', heldOut: true },
  { engine: 'espeak-ng', voice: 'en-029', heldOut: true },
  { engine: 'flite', voice: 'kal' },
  { engine: 'flite', voice: 'awb' },
  { engine: 'flite', voice: 'rms', heldOut: true },
  { engine: 'flite', voice: 'slt' },
  { engine: 'festival', voice: 'kal_diphone' },
  { engine: 'festival', voice: 'ked_diphone', heldOut: true },
  { engine: 'festival', voice: 'cmu_us_slt_arctic_hts' },
].map((v) => ({ ...v, heldOut: v.heldOut === true, id: `${v.engine === 'espeak-ng' ? 'espeak' : v.engine}-${v.voice.replace(/[^a-z0-9]+/gi, '-')}` }));

/** TTS text per word: espeak-ng says "mycroft" as one unfamiliar word; spelled as two words it is the real phrase. */
const WORDS = [
  { word: 'hey_jarvis', text: 'hey jarvis' },
  { word: 'alexa', text: 'alexa' },
  { word: 'hey_mycroft', text: 'hey my croft' },
];
/** Speaking-rate factors (espeak-ng: words per minute × f; flite: duration_stretch 1/f; festival: sox tempo f). */
const SPEEDS = [0.85, 1.0, 1.15];
/** Background: kind and signal-to-noise ratio of the phrase against it (clean = quiet room noise at −60 dBFS). */
const BACKGROUNDS = [
  { id: 'clean', kind: 'room', snrDb: null },
  { id: 'pink20', kind: 'pink', snrDb: 20 },
  { id: 'pink10', kind: 'pink', snrDb: 10 },
  { id: 'brown10', kind: 'brown', snrDb: 10 },
];
const NEAR_MISSES = [
  { near: 'hey_jarvis', text: 'hey jar' },
  { near: 'hey_jarvis', text: 'hey travis' },
  { near: 'hey_jarvis', text: 'hey service' },
  { near: 'hey_jarvis', text: 'hey jealous' },
  { near: 'hey_jarvis', text: 'hey charges' },
  { near: 'alexa', text: 'a lexus' },
  { near: 'alexa', text: 'alexis' },
  { near: 'alexa', text: 'alexander' },
  { near: 'alexa', text: 'electra' },
  { near: 'alexa', text: 'unless a' },
  { near: 'hey_mycroft', text: 'hey microsoft' },
  { near: 'hey_mycroft', text: 'hey my car' },
  { near: 'hey_mycroft', text: 'hey minecraft' },
  { near: 'hey_mycroft', text: 'hey my crop' },
];
const LEAD_S = 3;
const TAIL_S = 1.2;
const ROOM_RMS = 0.001; // −60 dBFS
const SPEECH_PEAK = 0.7; // −3 dBFS

// ---- deterministic noise ----------------------------------------------------------------------------
/** mulberry32, seeded from a string (FNV-1a): the same clip name always gets the same noise. */
function seeded(name) {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  let a = h;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Noise of unit RMS: white, pink (Paul Kellet's filter) or brown (leaky integrator). */
function noise(kind, n, rand) {
  const x = new Float64Array(n);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, br = 0;
  for (let i = 0; i < n; i++) {
    const w = rand() * 2 - 1;
    if (kind === 'white') x[i] = w;
    else if (kind === 'brown') x[i] = br = 0.995 * br + w * 0.1;
    else {
      b0 = 0.99886 * b0 + w * 0.0555179; b1 = 0.99332 * b1 + w * 0.0750759; b2 = 0.969 * b2 + w * 0.153852;
      b3 = 0.8665 * b3 + w * 0.3104856; b4 = 0.55 * b4 + w * 0.5329522; b5 = -0.7616 * b5 - w * 0.016898;
      x[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362; b6 = w * 0.115926;
    }
  }
  // Remove DC (brown noise drifts), then scale to unit RMS.
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n || 1;
  let ss = 0;
  for (let i = 0; i < n; i++) { x[i] -= mean; ss += x[i] * x[i]; }
  const k = 1 / Math.sqrt(ss / (n || 1) || 1);
  for (let i = 0; i < n; i++) x[i] *= k;
  return x;
}
function rms(x, from = 0, to = x.length) {
  let ss = 0;
  for (let i = from; i < to; i++) ss += x[i] * x[i];
  return Math.sqrt(ss / Math.max(1, to - from));
}

// ---- TTS ------------------------------------------------------------------------------------------------
const tmp = mkdtempSync(path.join(os.tmpdir(), 'earshot-corpus-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
let tmpN = 0;

/** Speech as float samples at 16 kHz, silence trimmed, peak-normalised to −3 dBFS. */
async function speak(v, text, speed, pitchCents = 0) {
  const raw = path.join(tmp, `tts${++tmpN}.wav`);
  const effects = [];
  if (v.engine === 'espeak-ng') {
    await run('espeak-ng', ['-v', v.voice, '-s', String(Math.round(160 * speed)), '-w', raw, text]);
  } else if (v.engine === 'flite') {
    await run('flite', ['-voice', v.voice, '--setf', `duration_stretch=${(1 / speed).toFixed(4)}`, '-t', text, '-o', raw]);
  } else {
    const txt = raw.replace(/\.wav$/, '.txt');
    writeFileSync(txt, text + '\n');
    await run('text2wave', ['-eval', `(voice_${v.voice})`, '-o', raw, txt]);
    if (speed !== 1) effects.push('tempo', '-s', String(speed));
  }
  if (pitchCents !== 0) effects.push('pitch', String(pitchCents));
  const { stdout } = await run('sox', ['-R', raw, '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'raw', '-', ...effects], {
    encoding: 'buffer',
    maxBuffer: 1 << 28,
  });
  rmSync(raw, { force: true });
  const pcm = new Int16Array(stdout.buffer, stdout.byteOffset, stdout.byteLength >> 1);
  // Trim leading/trailing silence (10 ms blocks under 2 % of the peak), keep 20 ms either side.
  let peak = 1;
  for (const s of pcm) peak = Math.max(peak, Math.abs(s));
  const block = RATE / 100;
  const loud = (b) => {
    for (let i = b * block; i < Math.min(pcm.length, (b + 1) * block); i++) if (Math.abs(pcm[i]) > peak * 0.02) return true;
    return false;
  };
  const blocks = Math.ceil(pcm.length / block);
  let first = 0;
  while (first < blocks - 1 && !loud(first)) first++;
  let last = blocks - 1;
  while (last > first && !loud(last)) last--;
  const from = Math.max(0, (first - 2) * block);
  const to = Math.min(pcm.length, (last + 3) * block);
  const x = new Float64Array(to - from);
  for (let i = 0; i < x.length; i++) x[i] = (pcm[from + i] / peak) * SPEECH_PEAK;
  return x;
}

// ---- clips ---------------------------------------------------------------------------------------------
function writeWav(file, x) {
  const data = Buffer.alloc(x.length * 2);
  for (let i = 0; i < x.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767))), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8); h.write('fmt ', 12);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(data.length, 40);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, Buffer.concat([h, data]));
}

/**
 * Places `speech` after `leadS` seconds (+ a seeded 0–79 ms so phrases do not share one frame phase) of
 * background; background runs through the whole clip at `snrDb` below the speech (RMS over its loud part).
 */
function mix(name, speech, background, leadS, tailS) {
  const rand = seeded(name);
  const lead = Math.round(leadS * RATE) + Math.floor(rand() * 80) * (RATE / 1000);
  const n = lead + speech.length + Math.round(tailS * RATE);
  const bg = noise(background.kind === 'room' ? 'pink' : background.kind, n, rand);
  const speechRms = activeRms(speech);
  const level = background.snrDb === null ? ROOM_RMS : speechRms / 10 ** (background.snrDb / 20);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = bg[i] * level;
  for (let i = 0; i < speech.length; i++) x[lead + i] += speech[i];
  return { x, startMs: Math.round((lead * 1000) / RATE), endMs: Math.round(((lead + speech.length) * 1000) / RATE) };
}
/** RMS over the 20 ms blocks louder than −30 dB below the peak block: the speech, not its pauses. */
function activeRms(x) {
  const block = RATE / 50;
  const levels = [];
  for (let b = 0; b + block <= x.length; b += block) levels.push(rms(x, b, b + block));
  const top = Math.max(...levels, 1e-9);
  const active = levels.filter((l) => l > top / 31.6);
  return Math.sqrt(active.reduce((s, l) => s + l * l, 0) / Math.max(1, active.length));
}

const tasks = [];
const entries = { positives: [], negatives: [], enrol: [] };
const meta = (v) => ({ voice: v.voice, engine: v.engine, voiceId: v.id, heldOut: v.heldOut });
const fmtSpeed = (s) => s.toFixed(2).replace('.', 'p');

for (const w of WORDS) {
  for (const v of VOICES) {
    for (const speed of SPEEDS) {
      for (const bg of BACKGROUNDS) {
        const file = `${w.word}/${w.word}__${v.id}__s${fmtSpeed(speed)}__${bg.id}.wav`;
        tasks.push({ name: `positives/${file}`, fn: async () => {
          const m = mix(file, await speak(v, w.text, speed), bg, LEAD_S, TAIL_S);
          writeWav(path.join(out, 'positives', file), m.x);
          entries.positives.push({ file, kind: 'positive', word: w.word, text: w.text, ...meta(v), speed, noise: bg.id, phraseStartMs: m.startMs, phraseEndMs: m.endMs, durationMs: Math.round((m.x.length * 1000) / RATE) });
        } });
      }
    }
    const enrolVariants = [
      { speed: 0.93, pitch: 0 },
      { speed: 1.07, pitch: 0 },
      { speed: 1.0, pitch: 150 },
    ];
    enrolVariants.forEach((e, k) => {
      const file = `${w.word}/${w.word}__${v.id}__enrol${k + 1}.wav`;
      tasks.push({ name: `enrol/${file}`, fn: async () => {
        const m = mix(file, await speak(v, w.text, e.speed, e.pitch), BACKGROUNDS[0], 1, 0.8);
        writeWav(path.join(out, 'enrol', file), m.x);
        entries.enrol.push({ file, kind: 'enrol', word: w.word, text: w.text, ...meta(v), speed: e.speed, pitchCents: e.pitch, noise: 'clean', phraseStartMs: m.startMs, phraseEndMs: m.endMs, durationMs: Math.round((m.x.length * 1000) / RATE) });
      } });
    });
  }
}
VOICES.forEach((v, vi) => {
  NEAR_MISSES.forEach((nm, ni) => {
    const bg = (vi + ni) % 2 === 0 ? BACKGROUNDS[0] : BACKGROUNDS[1];
    const file = `nearmiss/${nm.text.replace(/ /g, '-')}__${v.id}__${bg.id}.wav`;
    tasks.push({ name: `negatives/${file}`, fn: async () => {
      const m = mix(file, await speak(v, nm.text, 1), bg, 2, 0.6);
      writeWav(path.join(out, 'negatives', file), m.x);
      entries.negatives.push({ file, kind: 'nearmiss', near: nm.near, text: nm.text, ...meta(v), speed: 1, noise: bg.id, phraseStartMs: m.startMs, phraseEndMs: m.endMs, durationMs: Math.round((m.x.length * 1000) / RATE) });
    } });
  });
  const lines = readFileSync(path.join(root, 'scripts', 'fixtures-negative.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const mine = Array.from({ length: 32 }, (_, k) => lines[(vi * 4 + k) % lines.length]);
  const bg = vi % 2 === 0 ? BACKGROUNDS[0] : BACKGROUNDS[1];
  const file = `prose/prose__${v.id}__${bg.id}.wav`;
  tasks.push({ name: `negatives/${file}`, fn: async () => {
    const parts = [];
    for (const line of mine) parts.push(await speak(v, line, 1), new Float64Array(Math.round(0.4 * RATE)));
    const speech = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) { speech.set(p, at); at += p.length; }
    const m = mix(file, speech, bg, 1, 0.5);
    writeWav(path.join(out, 'negatives', file), m.x);
    entries.negatives.push({ file, kind: 'prose', text: mine.join(' '), ...meta(v), speed: 1, noise: bg.id, durationMs: Math.round((m.x.length * 1000) / RATE) });
  } });
});
for (const kind of ['pink', 'brown', 'white']) {
  for (const dbfs of [-40, -20]) {
    const file = `noise/${kind}__${-dbfs}dbfs.wav`;
    tasks.push({ name: `negatives/${file}`, fn: async () => {
      const x = noise(kind, 60 * RATE, seeded(file));
      const g = 10 ** (dbfs / 20);
      for (let i = 0; i < x.length; i++) x[i] *= g;
      writeWav(path.join(out, 'negatives', file), x);
      entries.negatives.push({ file, kind: 'noise', noise: kind, levelDbfs: dbfs, durationMs: 60_000 });
    } });
  }
}
/** Tones: what a kitchen makes (beeps, a sweep, a chord, DTMF), 60 s each, over quiet room noise. */
const TONES = [
  { id: 'beeps-1k', f: (t) => (t % 1 < 0.3 ? Math.sin(2 * Math.PI * 1000 * t) : 0) },
  { id: 'sweep-100-4k', f: (t) => Math.sin(2 * Math.PI * (100 * (40 ** ((t % 10) / 10) - 1) * 10 / Math.log(40))) },
  { id: 'chord-a-major', f: (t) => (Math.sin(2 * Math.PI * 440 * t) + Math.sin(2 * Math.PI * 554.37 * t) + Math.sin(2 * Math.PI * 659.25 * t)) / 3 },
  { id: 'dtmf', f: (t) => { const k = Math.floor(t / 0.25); const lo = [697, 770, 852, 941][k % 4]; const hi = [1209, 1336, 1477][k % 3]; return t % 0.25 < 0.15 ? (Math.sin(2 * Math.PI * lo * t) + Math.sin(2 * Math.PI * hi * t)) / 2 : 0; } },
];
for (const tone of TONES) {
  const file = `tones/${tone.id}.wav`;
  tasks.push({ name: `negatives/${file}`, fn: async () => {
    const n = (sample ? 4 : 60) * RATE;
    const x = noise('pink', n, seeded(file));
    for (let i = 0; i < n; i++) x[i] = x[i] * ROOM_RMS + 0.25 * tone.f(i / RATE);
    writeWav(path.join(out, 'negatives', file), x);
    entries.negatives.push({ file, kind: 'tone', tone: tone.id, durationMs: Math.round((n * 1000) / RATE) });
  } });
}

// --sample: a few clips for the committed test sample (test/fixtures/eval-sample).
let todo = tasks;
if (sample) {
  const keep = new Set([
    'positives/hey_jarvis/hey_jarvis__espeak-en-us__s1p00__clean.wav',
    'positives/alexa/alexa__espeak-en-gb-scotland__s0p85__pink20.wav',
    'negatives/nearmiss/hey-jar__espeak-en-us__clean.wav',
    'negatives/nearmiss/a-lexus__flite-rms__pink20.wav',
    'negatives/tones/beeps-1k.wav',
  ]);
  todo = tasks.filter((t) => keep.has(t.name));
  if (todo.length !== keep.size) throw new Error('internal: a sample clip name does not exist');
}

// ---- run ------------------------------------------------------------------------------------------------
const versions = {};
for (const [name, cmd, args] of [['espeak-ng', 'espeak-ng', ['--version']], ['flite', 'flite', ['--version']], ['festival', 'festival', ['--version']], ['sox', 'sox', ['--version']]]) {
  // flite --version exits 1 after printing its version: accept any exit with output, fail when it is not installed.
  const text = await run(cmd, args).then((r) => r.stdout + r.stderr, (e) => (e.code === 'ENOENT' ? '' : `${e.stdout ?? ''}${e.stderr ?? ''}`));
  if (text.trim() === '') {
    console.error(`make-eval-corpus: ${cmd} is required`);
    process.exit(1);
  }
  versions[name] = text.trim().split('\n').map((l) => l.trim()).sort((a, b) => Number(/version/i.test(b)) - Number(/version/i.test(a)) || Number(/\d/.test(b)) - Number(/\d/.test(a)))[0] ?? text.trim().split('\n')[0];
}
mkdirSync(out, { recursive: true });
const started = Date.now();
let done = 0;
let next = 0;
async function worker() {
  while (next < todo.length) {
    const task = todo[next++];
    await task.fn();
    done++;
    if (done % 25 === 0 || done === todo.length) {
      const s = (Date.now() - started) / 1000;
      process.stderr.write(`make-eval-corpus: ${done}/${todo.length} clips, ${s.toFixed(0)} s elapsed, ~${((s / done) * (todo.length - done)).toFixed(0)} s left\n`);
    }
  }
}
await Promise.all(Array.from({ length: jobs }, worker));

const common = {
  generator: 'scripts/make-eval-corpus.mjs',
  sampleRate: RATE,
  engines: versions,
  voices: VOICES.map((v) => ({ id: v.id, engine: v.engine, voice: v.voice, heldOut: v.heldOut })),
  heldOutVoices: VOICES.filter((v) => v.heldOut).map((v) => v.id),
};
const byFile = (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
for (const [dir, list] of Object.entries(entries)) {
  if (list.length === 0) continue;
  list.sort(byFile);
  const hours = list.reduce((s, e) => s + e.durationMs, 0) / 3_600_000;
  // One clip per line: the index stays readable and diffs well.
  const head = JSON.stringify({ ...common, kind: dir, hours: Number(hours.toFixed(4)) }, null, 1).replace(/\n}$/, '');
  writeFileSync(path.join(out, dir, 'index.json'), `${head},\n "clips": [\n${list.map((e) => '  ' + JSON.stringify(e)).join(',\n')}\n ]\n}\n`);
  console.log(`make-eval-corpus: ${dir}: ${list.length} clips, ${(hours * 60).toFixed(1)} min`);
}
console.log(`make-eval-corpus: wrote ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
