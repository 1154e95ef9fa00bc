/**
 * JSON parsing for untrusted text (config files, fleet documents): parse errors carry line and column,
 * and keys that could reach an object's prototype are found before anything merges or indexes the value.
 */

/** Keys refused anywhere in a config or fleet document: merging them could pollute Object.prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type JsonParseResult =
  | { ok: true; value: unknown }
  | { ok: false; message: string; line: number; column: number };

/** Line and column (1-based) of a character offset. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < clamped; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: clamped - lineStart + 1 };
}

/** Deeper nesting than any config or fleet document needs; bounded so that nothing downstream overflows the stack. */
export const MAX_JSON_DEPTH = 64;

/** Offset of the first bracket nested deeper than `max` (outside strings), or -1. Iterative: any input is safe. */
export function excessiveNesting(text: string, max: number = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

export function parseJson(text: string): JsonParseResult {
  const deep = excessiveNesting(text);
  if (deep >= 0) {
    const { line, column } = lineColumnAt(text, deep);
    return { ok: false, message: `objects and arrays are nested deeper than ${MAX_JSON_DEPTH} levels`, line, column };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    const raw = e instanceof Error ? e.message : String(e);
    // V8 names the offset ("... at position 12"); an unexpected end has none, so it is the end of the text.
    const m = /at position (\d+)/.exec(raw);
    const offset = m ? Number(m[1]) : text.length;
    const { line, column } = lineColumnAt(text, offset);
    // Drop V8's quoted excerpt of the input: it could echo content (e.g. key material) into logs.
    const message = raw.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    return { ok: false, message, line, column };
  }
}

/** Render a path of keys and indexes as `wake.words[0].name`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out === '' ? '(root)' : out;
}

/** Path of the first forbidden key anywhere in a parsed JSON value, or undefined. */
export function findForbiddenKey(value: unknown, path: (string | number)[] = []): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findForbiddenKey(value[i], [...path, i]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return formatPath([...path, key]);
      const found = findForbiddenKey((value as Record<string, unknown>)[key], [...path, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Deep merge of JSON values: objects merge key by key, arrays and scalars in `over` replace those in `base`.
 * Neither input is modified. Callers reject forbidden keys first; they are skipped here as a second guard.
 */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? structuredClone(base) : structuredClone(over)) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(base)) out[key] = structuredClone(base[key]);
  for (const key of Object.keys(over)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const b = out[key];
    const o = over[key];
    out[key] = isPlainObject(b) && isPlainObject(o) ? deepMerge(b, o) : structuredClone(o);
  }
  return out as T;
}
