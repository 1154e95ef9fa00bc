/**
 * Issue 9 §8: ONNX Runtime's Linux build embeds Microsoft's 1DS telemetry SDK ("MATSDK"), which creates an
 * empty, world-readable /tmp/mat-debug-<pid>.log when the first session is created. Earshot sets
 * ORT_DISABLE_TELEMETRY=1 before creating any session. This file runs in its own forked worker (vitest pool
 * 'forks'), so the session below is the first in this process.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MANIFEST, loadManifest, modelOfKind } from '../../src/models/index.js';
import { openModel } from '../../src/wakeword/onnx-sessions.js';

describe('ONNX Runtime telemetry', () => {
  it('creating sessions leaves no /tmp/mat-debug-<pid>.log and turns ORT telemetry off', async () => {
    // Whatever the environment says, the code under test must set it.
    delete process.env['ORT_DISABLE_TELEMETRY'];
    const debugLog = `/tmp/mat-debug-${process.pid}.log`;
    expect(existsSync(debugLog)).toBe(false);
    const manifest = await loadManifest(DEFAULT_MANIFEST);
    const session = await openModel(manifest, modelOfKind(manifest, 'mel'));
    try {
      expect(session.inputNames.length).toBeGreaterThan(0);
      expect(existsSync(debugLog)).toBe(false);
      expect(process.env['ORT_DISABLE_TELEMETRY']).toBe('1');
    } finally {
      await session.release();
    }
  });
});
