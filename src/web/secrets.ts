/**
 * The page's secrets: pairing codes, session ids and CSRF tokens. Codes and session ids are 32 random bytes
 * (base64url) and reach the database only as SHA-256 hashes; the CSRF token is an HMAC of a fixed label under
 * the session id, so it needs no storage and cannot be made without the (HttpOnly) cookie.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const PAIRING_TTL_MS = 10 * 60_000;
export const SESSION_IDLE_MS = 30 * 86_400_000;
/** last_seen is written at most this often per session (every request would be a write). */
export const TOUCH_INTERVAL_MS = 60_000;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A short public handle for a session (listing, revoking): not derived from the secret. */
export function newSessionRef(): string {
  return `ses-${randomBytes(6).toString('hex')}`;
}

/** Whether a string can be one of our secrets at all (a malformed one is refused before any lookup). */
export function looksLikeSecret(s: string): boolean {
  return TOKEN_PATTERN.test(s);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update('earshot/web-secret/v1\0').update(secret).digest('hex');
}

export function csrfToken(sessionId: string): string {
  return createHmac('sha256', sessionId).update('earshot/web-csrf/v1').digest('base64url');
}

export function csrfMatches(sessionId: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const want = Buffer.from(csrfToken(sessionId));
  const got = Buffer.from(presented);
  return got.length === want.length && timingSafeEqual(got, want);
}

export function isExpired(lastSeenAt: number, now: number): boolean {
  return now - lastSeenAt > SESSION_IDLE_MS;
}
