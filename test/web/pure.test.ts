/** The page's pure parts, without a server: throttle, secrets, cookies, request guard, labels, notice text. */
import { describe, expect, it } from 'vitest';
import { browserLabel } from '../../src/web/browser-label.js';
import { clearedSessionCookie, readCookie, sessionCookie } from '../../src/web/cookies.js';
import { noticeMessage } from '../../src/web/notice-text.js';
import { DEFAULT_THROTTLE, PairingThrottle } from '../../src/web/pairing-throttle.js';
import { allowedHosts, allowedOrigins, isLoopback, sameOriginChange } from '../../src/web/request-guard.js';
import { csrfMatches, csrfToken, hashSecret, isExpired, looksLikeSecret, newSecret, SESSION_IDLE_MS } from '../../src/web/secrets.js';

describe('pairing throttle', () => {
  it('three free failures, then doubling waits, then a 15-minute lock-out announced once', () => {
    const clock = { t: 0, now: () => clock.t };
    const th = new PairingThrottle(clock);
    const waits: number[] = [];
    let lockedNow = 0;
    for (let i = 1; i <= 12; i++) {
      const v = th.check('c');
      if (!v.allowed) {
        waits.push(v.retryAfterMs);
        clock.t += v.retryAfterMs;
        if (v.locked) break;
      }
      if (th.fail('c').lockedNow) lockedNow++;
    }
    expect(waits.slice(0, 6)).toEqual([2000, 4000, 8000, 16000, 32000, 64000]);
    expect(lockedNow).toBe(1);
    expect(th.check('c')).toEqual({ allowed: true }); // the loop waited out the lock
    expect(th.check('other')).toEqual({ allowed: true });
  });

  it('a success or 15 quiet minutes forget the client; the map is bounded', () => {
    const clock = { t: 0, now: () => clock.t };
    const th = new PairingThrottle(clock, { ...DEFAULT_THROTTLE, maxClients: 3 });
    for (let i = 0; i < 5; i++) th.fail('a');
    expect(th.check('a').allowed).toBe(false);
    th.succeed('a');
    expect(th.check('a').allowed).toBe(true);
    for (let i = 0; i < 5; i++) th.fail('b');
    clock.t += 15 * 60_000 + 1;
    expect(th.check('b').allowed).toBe(true);
    for (const c of ['c1', 'c2', 'c3', 'c4']) for (let i = 0; i < 5; i++) th.fail(c);
    expect(th.check('c1').allowed).toBe(true); // the oldest was forgotten to keep at most 3
    expect(th.check('c4').allowed).toBe(false);
  });
});

describe('secrets and cookies', () => {
  it('secrets are 256-bit base64url; hashes and CSRF tokens are bound to them', () => {
    const a = newSecret();
    expect(looksLikeSecret(a)).toBe(true);
    expect(looksLikeSecret(a + '=')).toBe(false);
    expect(looksLikeSecret('../' + a.slice(3))).toBe(false);
    expect(hashSecret(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(a)).not.toBe(hashSecret(newSecret()));
    expect(csrfMatches(a, csrfToken(a))).toBe(true);
    expect(csrfMatches(a, csrfToken(newSecret()))).toBe(false);
    expect(csrfMatches(a, undefined)).toBe(false);
    expect(csrfMatches(a, csrfToken(a).slice(1))).toBe(false);
    expect(isExpired(0, SESSION_IDLE_MS)).toBe(false);
    expect(isExpired(0, SESSION_IDLE_MS + 1)).toBe(true);
  });

  it('cookies are HttpOnly, SameSite=Strict, Secure with the __Host- prefix over TLS', () => {
    expect(sessionCookie(false, 'v')).toBe('earshot-session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000');
    expect(sessionCookie(true, 'v')).toBe('__Host-earshot-session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000; Secure');
    expect(clearedSessionCookie(true)).toContain('Max-Age=0');
    expect(readCookie('a=1; earshot-session=xyz; b=2', 'earshot-session')).toBe('xyz');
    expect(readCookie('xearshot-session=1', 'earshot-session')).toBeUndefined();
    expect(readCookie(undefined, 'earshot-session')).toBeUndefined();
  });
});

describe('request guard', () => {
  it('loopback binds answer only to loopback names; changes only from those origins', () => {
    const hosts = allowedHosts('127.0.0.1', 8440);
    expect([...hosts].sort()).toEqual(['127.0.0.1:8440', '[::1]:8440', 'localhost:8440']);
    const origins = allowedOrigins(hosts, false);
    expect(sameOriginChange({ origin: 'http://127.0.0.1:8440' }, origins)).toBe(true);
    expect(sameOriginChange({ origin: 'http://127.0.0.1:8440', 'sec-fetch-site': 'same-origin' }, origins)).toBe(true);
    expect(sameOriginChange({ origin: 'http://127.0.0.1:8440', 'sec-fetch-site': 'same-site' }, origins)).toBe(false);
    expect(sameOriginChange({ origin: 'https://127.0.0.1:8440' }, origins)).toBe(false);
    expect(sameOriginChange({ origin: 'http://127.0.0.1:8441' }, origins)).toBe(false);
    expect(sameOriginChange({}, origins)).toBe(false);
    expect(isLoopback('127.0.0.2')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('192.168.1.5')).toBe(false);
  });
});

describe('labels and notices', () => {
  it('a coarse browser label, never a version or model', () => {
    expect(browserLabel('Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 Chrome/126.0.6478.71 Mobile Safari/537.36')).toBe('Chrome on Android');
    expect(browserLabel('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1')).toBe('Safari on iOS');
    expect(browserLabel(undefined)).toBe('a browser');
  });

  it("a notice's text never repeats the incident's free text", () => {
    const detail = { kind: 'integrity', reason: 'recording rec-42 does not open for owner own-bob' };
    expect(noticeMessage({ type: 'incident', own: true, detail })).not.toMatch(/rec-42|own-bob/);
    expect(noticeMessage({ type: 'config.refused', own: false, detail: { reason: 'bad-signature' } })).toContain('(bad-signature)');
    expect(noticeMessage({ type: 'incident', own: false, detail: { kind: 'pairing-lockout', lockedForMs: 900_000 } })).toContain('15 minutes');
  });
});
