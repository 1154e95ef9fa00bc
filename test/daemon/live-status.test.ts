/** The live status socket is readable by any local user: what it serves must not carry file paths. */
import { describe, expect, it } from 'vitest';
import { withoutPaths } from '../../src/daemon/run-daemon.js';

describe('withoutPaths', () => {
  it('removes absolute paths from error texts, keeps the rest', () => {
    expect(withoutPaths('cannot read audio file /home/alice/bedroom.wav: permission denied')).toBe('cannot read audio file <path>: permission denied');
    expect(withoutPaths("model file '/opt/m/x.onnx' (hey_jarvis) cannot be read")).toBe("model file '<path>' (hey_jarvis) cannot be read");
    expect(withoutPaths('the audio source ended unexpectedly')).toBe('the audio source ended unexpectedly');
    expect(withoutPaths('10/20 frames')).toBe('10/20 frames');
  });
});
