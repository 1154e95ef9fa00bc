/**
 * Validation of a complete device config against device-config/schema.json (ajv), plus the few rules a
 * JSON Schema cannot say (ordering between fields, unique names). Every problem names its field path.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { EarshotError } from '../core/index.js';
import { formatPath } from './safe-json.js';
import type { DeviceConfig } from './types.js';

/** Read a JSON schema shipped in device-config/ (two levels up from both src/config and dist/config). */
export function readShippedSchema(name: string): Record<string, unknown> {
  const url = new URL(`../../device-config/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
}

export function createAjv(): Ajv {
  return new Ajv({ allErrors: true, strict: true, allowUnionTypes: false });
}

let deviceValidator: ValidateFunction | undefined;
function deviceConfigValidator(): ValidateFunction {
  if (!deviceValidator) deviceValidator = createAjv().compile(readShippedSchema('schema.json'));
  return deviceValidator;
}

function pointerToSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

/** One ajv error as `path: problem`, in words a person editing the file understands. */
export function describeSchemaError(e: ErrorObject): string {
  const segs = pointerToSegments(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${formatPath([...segs, String(params['additionalProperty'])])}: unknown field`;
    case 'required':
      return `${formatPath([...segs, String(params['missingProperty'])])}: is required`;
    case 'enum':
      return `${formatPath(segs)}: must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${formatPath(segs)}: must be ${JSON.stringify(params['allowedValue'])}`;
    case 'not':
      return `${formatPath(segs)}: value is reserved`;
    default:
      return `${formatPath(segs)}: ${e.message ?? 'is invalid'}`;
  }
}

/** Distinct messages of a failed validation, most specific first as ajv reports them. */
export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  const out: string[] = [];
  for (const e of errors ?? []) {
    const line = describeSchemaError(e);
    if (!out.includes(line)) out.push(line);
  }
  return out;
}

/** Cross-field rules the schema cannot express. Returns `path: problem` lines. */
export function semanticProblems(c: DeviceConfig): string[] {
  const problems: string[] = [];
  if (c.audio.retryInitialMs > c.audio.retryMaxMs) problems.push('audio.retryInitialMs: must be <= audio.retryMaxMs');
  if (c.uplink.reconnectMinMs > c.uplink.reconnectMaxMs) problems.push('uplink.reconnectMinMs: must be <= uplink.reconnectMaxMs');
  if (c.capture.endSilenceMs >= c.capture.maxMs) problems.push('capture.endSilenceMs: must be < capture.maxMs');
  if (c.capture.noSpeechTimeoutMs > c.capture.maxMs) problems.push('capture.noSpeechTimeoutMs: must be <= capture.maxMs');
  const seen = new Set<string>();
  c.wake.words.forEach((w, i) => {
    if (seen.has(w.name)) problems.push(`wake.words[${i}].name: duplicate wake word "${w.name}"`);
    seen.add(w.name);
  });
  return problems;
}

/** Validate a complete (merged, migrated) config; throws CONFIG_INVALID naming the source and fields. */
export function assertValidDeviceConfig(value: unknown, source: string): asserts value is DeviceConfig {
  const validate = deviceConfigValidator();
  if (!validate(value)) {
    throw new EarshotError('CONFIG_INVALID', `${source}: ${describeSchemaErrors(validate.errors).join('; ')}`, {
      details: { source },
    });
  }
  const problems = semanticProblems(value as DeviceConfig);
  if (problems.length > 0) {
    throw new EarshotError('CONFIG_INVALID', `${source}: ${problems.join('; ')}`, { details: { source } });
  }
}
