/** The session cookie: HttpOnly, SameSite=Strict, Path=/, Secure (and the __Host- prefix) over TLS. */
import { SESSION_IDLE_MS } from './secrets.js';

export function sessionCookieName(tls: boolean): string {
  return tls ? '__Host-earshot-session' : 'earshot-session';
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function sessionCookie(tls: boolean, value: string): string {
  return `${sessionCookieName(tls)}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(SESSION_IDLE_MS / 1000)}${tls ? '; Secure' : ''}`;
}

export function clearedSessionCookie(tls: boolean): string {
  return `${sessionCookieName(tls)}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${tls ? '; Secure' : ''}`;
}
