/**
 * One-time pairing links: a fresh secret, stored hashed for one owner with a 10-minute expiry, and the link
 * that carries it in the URL *fragment* (`/pair#c=…`) — a fragment is never sent in a request line, so the
 * code is in no access log or Referer; the page posts it once and removes it from the address bar.
 */
import QRCode from 'qrcode';
import type { Clock } from '../core/index.js';
import type { OwnerBackend } from './owner-backend.js';
import { PAIRING_TTL_MS, hashSecret, newSecret } from './secrets.js';

export interface PairingLink {
  ownerId: string;
  link: string;
  expiresAt: number;
}

export async function createPairingLink(
  backend: Pick<OwnerBackend, 'createPairing' | 'resolveOwner'>,
  opts: { baseUrl: string; ownerId?: string; clock: Clock; source: string },
): Promise<PairingLink> {
  const ownerId = await backend.resolveOwner(opts.ownerId);
  const code = newSecret();
  const expiresAt = opts.clock.now() + PAIRING_TTL_MS;
  await backend.createPairing(ownerId, hashSecret(code), expiresAt, opts.source);
  return { ownerId, link: `${opts.baseUrl.replace(/\/+$/, '')}/pair#c=${code}`, expiresAt };
}

/** The link as a QR code drawn with block characters, for a phone to scan off the terminal. */
export function terminalQr(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
}
