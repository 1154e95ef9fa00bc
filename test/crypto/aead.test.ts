import { describe, expect, it } from 'vitest';
import { encodeAad, recordingAad } from '../../src/crypto/aad.js';
import { newKey, open, seal } from '../../src/crypto/aead.js';

describe('AES-256-GCM sealing', () => {
  const b = { recordingId: 'r1', ownerId: 'own-a', deviceId: 'dev', createdAt: 1000, keyVersion: 1 };

  it('round-trips and uses a fresh IV each time', () => {
    const k = newKey();
    const pt = Buffer.from('hello audio');
    const s1 = seal(k, pt, recordingAad('audio', b));
    const s2 = seal(k, pt, recordingAad('audio', b));
    expect(s1.subarray(1, 13).equals(s2.subarray(1, 13))).toBe(false);
    expect(open(k, s1, recordingAad('audio', b)).toString()).toBe('hello audio');
  });

  it('any change of the bound fields, the column label, the key or one byte fails with INTEGRITY', () => {
    const k = newKey();
    const s = seal(k, Buffer.from('pcm'), recordingAad('audio', b));
    for (const changed of [
      { ...b, ownerId: 'own-b' },
      { ...b, recordingId: 'r2' },
      { ...b, deviceId: 'dev2' },
      { ...b, createdAt: 1001 },
      { ...b, keyVersion: 2 },
    ]) {
      expect(() => open(k, s, recordingAad('audio', changed))).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    }
    expect(() => open(k, s, recordingAad('meta', b))).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    expect(() => open(newKey(), s, recordingAad('audio', b))).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    const flipped = Buffer.from(s);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0x80;
    expect(() => open(k, flipped, recordingAad('audio', b))).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    expect(() => open(k, s.subarray(0, 10), recordingAad('audio', b))).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
  });

  it('associated data is length-prefixed, so fields cannot be shifted into each other', () => {
    expect(encodeAad('x', ['ab', 'c']).equals(encodeAad('x', ['a', 'bc']))).toBe(false);
    expect(encodeAad('x', ['a|b']).equals(encodeAad('x', ['a', 'b']))).toBe(false);
  });
});
