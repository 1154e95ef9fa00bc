// A/B of the wake loop between two builds of Earshot in ONE process (1 and 4 phases, hey_jarvis, no quiet gate):
// alternating 20 s turns over the same audio, so a change of the machine's load or speed hits both alike.
//
//   git worktree add /tmp/old <commit> && (cd /tmp/old && ln -s "$PWD/node_modules" . && npx tsc -p tsconfig.json)
//   npm run build && node scripts/ab-wake-loop.mjs /tmp/old . SPEECH.s16     (raw 16 kHz s16le; e.g. the bench's
//   cached /tmp/earshot-bench-cache/speech-2m.s16)
import { readFileSync } from 'node:fs';
import path from 'node:path';
const [oldRoot, newRoot, audio] = process.argv.slice(2);
if (!oldRoot || !newRoot || !audio) {
  console.error('usage: node scripts/ab-wake-loop.mjs OLD_CHECKOUT NEW_CHECKOUT AUDIO.s16');
  process.exit(2);
}
const pcmBuf = readFileSync(audio);
const pcm = new Int16Array(pcmBuf.buffer, pcmBuf.byteOffset, pcmBuf.length >> 1);
const builds = { old: path.resolve(oldRoot, 'dist/wakeword/index.js'), new: path.resolve(newRoot, 'dist/wakeword/index.js') };
const res = {};
const dets = {};
for (const [name, p] of Object.entries(builds)) {
  const m = await import(p);
  for (const phases of [1, 4]) {
    dets[`${name}/${phases}`] = await m.WakeDetector.create({ words: ['hey_jarvis'], phases, quietRms: null, manifest: p.replace('dist/wakeword/index.js', 'models/manifest.json') });
    res[`${name}/${phases}`] = { ms: 0, frames: 0 };
  }
}
const turn = 16000 * 20;
for (let round = 0; round < 3; round++) {
  for (let pos = 0; pos + turn <= pcm.length; pos += turn) {
    for (const key of Object.keys(dets)) {
      const d = dets[key];
      const t0 = process.hrtime.bigint();
      for (let i = pos; i < pos + turn; i += 1280) await d.push(pcm.subarray(i, i + 1280));
      res[key].ms += Number(process.hrtime.bigint() - t0) / 1e6;
      res[key].frames += turn / 1280;
    }
  }
}
for (const [k, v] of Object.entries(res)) console.log(k, (v.ms / v.frames).toFixed(3), 'ms/frame');
