/**
 * Rules on the `config` part of a fleet document, shared by signing (refuse to sign what devices would
 * refuse) and verification: consent can never appear, privacy can only tighten, then the schema.
 */
import type { ValidateFunction } from 'ajv';
import { createAjv, describeSchemaErrors, readShippedSchema } from '../config/index.js';
import { formatPath, isPlainObject } from '../config/index.js';
import { findCaptureLoosening } from './capture-rules.js';
import type { FleetBaseline, FleetRefusalReason } from './types.js';

export interface RuleViolation {
  reason: FleetRefusalReason;
  detail: string;
}

let fleetValidator: ValidateFunction | undefined;
function fleetConfigValidator(): ValidateFunction {
  if (!fleetValidator) fleetValidator = createAjv().compile(readShippedSchema('fleet-config.schema.json'));
  return fleetValidator;
}

/** Path of the first key mentioning consent, anywhere. */
function findConsentKey(value: unknown, path: (string | number)[] = []): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findConsentKey(value[i], [...path, i]);
      if (found !== undefined) return found;
    }
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.toLowerCase().includes('consent')) return formatPath([...path, k]);
      const found = findConsentKey(v, [...path, k]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * A document that explicitly asks for less privacy is refused whole, so an operator sees the mistake rather
 * than a silently ignored field. Caps are never loosening: `privacy.maxRetentionDays` above the owner's
 * retention is accepted (effective retention is the minimum). Wake/capture settings are compared with the
 * device's own (`baseline.capture`, when known): a fleet can only make capture less eager.
 */
function findLoosening(config: Record<string, unknown>, baseline: FleetBaseline | undefined): string | undefined {
  const privacy = config['privacy'];
  if (isPlainObject(privacy)) {
    if (privacy['forceLocalOnly'] === false) return 'privacy.forceLocalOnly: a fleet can force local-only on, never off';
    if (privacy['uploadsEnabled'] === true) return 'privacy.uploadsEnabled: a fleet can disable uploads, never enable them';
    if (privacy['humanReview'] === true) return 'privacy.humanReview: a fleet can never enable human review';
  }
  if (baseline?.capture !== undefined) return findCaptureLoosening(config, baseline.capture);
  return undefined;
}

export function checkFleetConfig(config: unknown, baseline: FleetBaseline | undefined): RuleViolation | undefined {
  const consentPath = findConsentKey(config);
  if (consentPath !== undefined) return { reason: 'consent-not-allowed', detail: `${consentPath}: fleet config can never grant or change consent` };
  if (isPlainObject(config)) {
    const loosening = findLoosening(config, baseline);
    if (loosening !== undefined) return { reason: 'loosens-privacy', detail: loosening };
  }
  const validate = fleetConfigValidator();
  if (!validate(config)) {
    const lines = describeSchemaErrors(validate.errors).map((l) => `config.${l}`.replace('config.(root)', 'config'));
    return { reason: 'bad-schema', detail: lines.join('; ') };
  }
  return undefined;
}
