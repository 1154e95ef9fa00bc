/**
 * Signing and verifying fleet documents. Verification never throws: every refusal is a typed verdict with
 * one reason, produced by the first failing check in this order:
 *   size ≤ 64 KiB → JSON → no prototype keys → envelope → signature (pinned keys) → no consent →
 *   no loosening → payload schema → target → topic → expiry → version > last applied.
 */
import { createHash, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { EarshotError } from '../core/index.js';
import { findForbiddenKey, parseJson } from '../config/index.js';
import { createAjv, describeSchemaErrors } from '../config/index.js';
import { canonicalJson } from '../core/index.js';
import { checkFleetConfig } from './fleet-config-rules.js';
import { keyIdOf, loadFleetPublicKey } from './keys.js';
import { parseTarget, targetMatchesDevice } from './target.js';
import {
  FLEET_FORMAT,
  MAX_FLEET_DOCUMENT_BYTES,
  type AppliedFleetDocument,
  type FleetPayload,
  type FleetRefusalReason,
  type FleetTarget,
  type FleetBaseline,
  type SignedFleetDocument,
} from './types.js';

const ISO_UTC = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$';

const ENVELOPE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'payload', 'keyId', 'signature'],
  properties: {
    format: { const: FLEET_FORMAT },
    keyId: { type: 'string', pattern: '^[0-9a-f]{16}$' },
    // 64 signature bytes in standard base64.
    signature: { type: 'string', pattern: '^[A-Za-z0-9+/]{86}==$' },
    payload: {
      type: 'object',
      additionalProperties: false,
      required: ['target', 'version', 'issuedAt', 'config'],
      properties: {
        target: { type: 'string', pattern: '^(fleet|group:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}|device:[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$' },
        version: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
        issuedAt: { type: 'string', pattern: ISO_UTC },
        expiresAt: { type: 'string', pattern: ISO_UTC },
        config: { type: 'object' },
      },
    },
  },
} as const;

let envelopeValidator: ValidateFunction | undefined;
function validateEnvelope(): ValidateFunction {
  if (!envelopeValidator) envelopeValidator = createAjv().compile(ENVELOPE_SCHEMA);
  return envelopeValidator;
}

/** The exact bytes signed: a domain-separation line, then the canonical JSON of the payload. */
export function signedMessage(payload: FleetPayload): Buffer {
  return Buffer.from(`${FLEET_FORMAT}\n${canonicalJson(payload)}`, 'utf8');
}

export interface SignOptions {
  target: string;
  version: number;
  /** ISO 8601 or Date; optional. */
  expiresAt?: string | Date;
  /** Defaults to now. */
  issuedAt?: Date;
  /**
   * Refuse to sign a config that every device would refuse (consent, loosening, schema). Default true;
   * tests turn it off to build hostile documents.
   */
  validate?: boolean;
}

function isoOf(v: string | Date, what: string): string {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw new EarshotError('BAD_ARGUMENT', `${what}: not a valid date/time: ${String(v)}`);
  return d.toISOString();
}

export function signFleetDocument(config: unknown, privateKey: KeyObject, opts: SignOptions): SignedFleetDocument {
  const target = parseTarget(opts.target);
  if (target === undefined) throw new EarshotError('BAD_ARGUMENT', `--target: "${opts.target}" is not fleet, group:NAME or device:ID`);
  if (!Number.isSafeInteger(opts.version) || opts.version < 1) throw new EarshotError('BAD_ARGUMENT', '--version: must be an integer >= 1');
  const issuedAt = (opts.issuedAt ?? new Date()).toISOString();
  const payload: FleetPayload = { target, version: opts.version, issuedAt, config: config as FleetPayload['config'] };
  if (opts.expiresAt !== undefined) {
    payload.expiresAt = isoOf(opts.expiresAt, '--expires');
    if (Date.parse(payload.expiresAt) <= Date.parse(issuedAt)) throw new EarshotError('BAD_ARGUMENT', '--expires: must be in the future');
  }
  if (opts.validate !== false) {
    const forbidden = findForbiddenKey(config);
    if (forbidden !== undefined) throw new EarshotError('BAD_ARGUMENT', `config: ${forbidden}: forbidden key`);
    const violation = checkFleetConfig(config, undefined);
    if (violation) throw new EarshotError('BAD_ARGUMENT', `devices would refuse this config (${violation.reason}): ${violation.detail}`);
  }
  // node derives the public half from the private key.
  const publicKey = createPublicKey(privateKey);
  return {
    format: FLEET_FORMAT,
    payload,
    keyId: keyIdOf(publicKey),
    signature: edSign(null, signedMessage(payload), privateKey).toString('base64'),
  };
}

export type FleetVerdict =
  | { ok: true; document: AppliedFleetDocument }
  | { ok: false; reason: FleetRefusalReason; detail: string; target?: FleetTarget; version?: number };

export interface VerifyContext {
  /** Pinned keys (config.fleet.publicKeys), PEM or KeyObject. */
  publicKeys: readonly (string | KeyObject)[];
  deviceId: string;
  groups: readonly string[];
  /** Epoch ms (injected clock). */
  now: number;
  /** Last applied version per target (anti-rollback counter); undefined = never applied. */
  lastAppliedVersion(target: FleetTarget): number | undefined;
  /** Owner/device privacy without fleet; used to refuse a retention cap above the owner's. */
  baseline?: FleetBaseline;
  /** The target implied by the topic the document arrived on, when it came over MQTT. */
  topicTarget?: FleetTarget;
}

function refuse(reason: FleetRefusalReason, detail: string, payload?: { target?: unknown; version?: unknown }): FleetVerdict {
  const out: FleetVerdict = { ok: false, reason, detail };
  const target = typeof payload?.target === 'string' ? parseTarget(payload.target) : undefined;
  if (target !== undefined) out.target = target;
  if (typeof payload?.version === 'number' && Number.isSafeInteger(payload.version)) out.version = payload.version;
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Steps shared by receipt and restore: size, JSON, prototype keys, envelope, signature, consent, loosening,
 * schema. Returns the authenticated document or the first refusal.
 */
export function authenticateFleetDocument(
  raw: Buffer | Uint8Array | string,
  publicKeys: readonly (string | KeyObject)[],
  baseline?: FleetBaseline,
): FleetVerdict {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.byteLength;
  if (size > MAX_FLEET_DOCUMENT_BYTES) return refuse('too-large', `${size} bytes > ${MAX_FLEET_DOCUMENT_BYTES}`);
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : utf8.decode(raw);
  } catch {
    return refuse('malformed-json', 'not UTF-8 text');
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return refuse('malformed-json', `line ${parsed.line} column ${parsed.column}: ${parsed.message}`);
  const forbidden = findForbiddenKey(parsed.value);
  if (forbidden !== undefined) return refuse('forbidden-key', `${forbidden}: forbidden key`);

  const validate = validateEnvelope();
  if (!validate(parsed.value)) {
    const payload = (parsed.value as { payload?: { target?: unknown; version?: unknown } } | null)?.payload;
    return refuse('bad-envelope', describeSchemaErrors(validate.errors).join('; '), typeof payload === 'object' && payload !== null ? payload : undefined);
  }
  const doc = parsed.value as SignedFleetDocument;
  const p = doc.payload;
  for (const field of ['issuedAt', 'expiresAt'] as const) {
    const v = p[field];
    if (v !== undefined && Number.isNaN(Date.parse(v))) return refuse('bad-envelope', `payload.${field}: not a valid date/time`, p);
  }

  if (publicKeys.length === 0) return refuse('no-pinned-key', 'this device pins no fleet public key (fleet.publicKeys)', p);
  const message = signedMessage(p);
  const signature = Buffer.from(doc.signature, 'base64');
  let keyIdPinned = false;
  let verified = false;
  for (const k of publicKeys) {
    const key = typeof k === 'string' ? loadFleetPublicKey(k) : k;
    if (keyIdOf(key) === doc.keyId) keyIdPinned = true;
    if (edVerify(null, message, key, signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) {
    return keyIdPinned
      ? refuse('bad-signature', 'the signature does not verify with the pinned key', p)
      : refuse('unknown-key', `signed by key ${doc.keyId}, which this device does not pin`, p);
  }

  const violation = checkFleetConfig(p.config, baseline);
  if (violation) return refuse(violation.reason, violation.detail, p);

  return {
    ok: true,
    document: {
      target: p.target,
      version: p.version,
      issuedAt: p.issuedAt,
      expiresAt: p.expiresAt,
      config: p.config,
      keyId: doc.keyId,
      digest: createHash('sha256').update(message).digest('hex'),
    },
  };
}

/** Every check, for a document that has just arrived. */
export function verifyFleetDocument(raw: Buffer | Uint8Array | string, ctx: VerifyContext): FleetVerdict {
  const auth = authenticateFleetDocument(raw, ctx.publicKeys, ctx.baseline);
  if (!auth.ok) return auth;
  const d = auth.document;
  const at = { target: d.target, version: d.version };
  if (!targetMatchesDevice(d.target, ctx.deviceId, ctx.groups)) {
    return refuse('wrong-target', `for ${d.target}; this device is device:${ctx.deviceId}${ctx.groups.map((g) => `, group:${g}`).join('')}`, at);
  }
  if (ctx.topicTarget !== undefined && ctx.topicTarget !== d.target) {
    return refuse('topic-mismatch', `a document for ${d.target} arrived on the topic of ${ctx.topicTarget}`, at);
  }
  if (d.expiresAt !== undefined && ctx.now >= Date.parse(d.expiresAt)) {
    return refuse('expired', `expired at ${d.expiresAt}`, at);
  }
  const last = ctx.lastAppliedVersion(d.target);
  if (last !== undefined && d.version <= last) {
    return refuse('not-newer', `version ${d.version} is not newer than the applied version ${last} for ${d.target}`, at);
  }
  return auth;
}
