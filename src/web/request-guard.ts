/**
 * Checks that apply to every request before any route: the Host must be one of the page's own names (so a
 * DNS-rebinding site cannot talk to the page under its own name), a change must come from the page's own
 * Origin, and the headers every answer carries (strict CSP, no sniffing, no referrer, no caching).
 */
import os from 'node:os';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The Host values the page answers to: loopback names, plus (when bound beyond loopback) the device's names. */
export function allowedHosts(bindHost: string, port: number, extraNames: readonly string[] = []): Set<string> {
  const names = new Set<string>(['127.0.0.1', 'localhost', '::1', ...extraNames]);
  if (!isLoopback(bindHost)) {
    if (bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost);
    const h = os.hostname();
    names.add(h);
    names.add(`${h}.local`);
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) names.add(a.address.split('%')[0]!);
  }
  return new Set([...names].map((n) => hostPort(n, port).toLowerCase()));
}

/** The page's own origins, one per allowed host. */
export function allowedOrigins(hosts: Set<string>, tls: boolean): Set<string> {
  return new Set([...hosts].map((h) => `${tls ? 'https' : 'http'}://${h}`));
}

/**
 * A change is allowed only from the page itself: Origin present and one of ours, and the browser not
 * reporting a cross-site request. (The CSRF token is checked on top of this for signed-in requests.)
 */
export function sameOriginChange(headers: Record<string, string | string[] | undefined>, origins: Set<string>): boolean {
  const origin = headers['origin'];
  if (typeof origin !== 'string' || !origins.has(origin.toLowerCase())) return false;
  const site = headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin';
}
