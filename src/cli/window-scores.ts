/**
 * Scores classifier input windows (the 16 × 96 embedding windows the verifier works on) with a word's base
 * classifier, for `earshot tune`: the same ONNX model and output rule as the detector's WakeScorer.
 */
import { EarshotError } from '../core/index.js';
import { ort, type LoadedWakeModels } from '../wakeword/index.js';

export async function scoreWindows(models: LoadedWakeModels, word: string, windows: readonly Float32Array[], onProgress?: (done: number) => void): Promise<Float32Array> {
  const c = models.classifiers.find((x) => x.name === word);
  if (!c) throw new EarshotError('BAD_ARGUMENT', `no classifier loaded for ${word}`);
  const size = c.window * 96;
  const out = new Float32Array(windows.length);
  const input = new Float32Array(size);
  const tensor = new ort.Tensor('float32', input, [1, c.window, 96]);
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    if (w.length !== size) throw new EarshotError('BAD_ARGUMENT', `a feature window of ${w.length} values does not fit ${word}'s classifier (${size})`);
    input.set(w);
    const res = await c.session.run({ [c.inputName]: tensor });
    const data = res[c.outputName]?.data as Float32Array | undefined;
    if (!data || data.length < c.classes) throw new EarshotError('INTERNAL', `unexpected output from ${c.name}`);
    let s = data[0]!;
    if (c.classes > 1) {
      s = 0;
      for (let k = 1; k < c.classes; k++) if (data[k]! > s) s = data[k]!;
    }
    out[i] = s;
    if (onProgress && i % 1000 === 999) onProgress(i + 1);
  }
  onProgress?.(windows.length);
  return out;
}
