import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig, loadConfigDetailed } from '../../src/config/index.js';
import { isEarshotError } from '../../src/core/errors.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'earshot-config-'));
}

async function writeConfig(doc: unknown): Promise<string> {
  const dir = await tempDir();
  const file = join(dir, 'config.json');
  await writeFile(file, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return file;
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isEarshotError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected the config to be refused');
}

describe('loadConfig', () => {
  it('returns the built-in defaults without a file, with ~ expanded in dataDir', async () => {
    const c = await loadConfig();
    expect(c.wake.threshold).toBe(0.5);
    expect(c.capture.endSilenceMs).toBe(700);
    expect(c.capture.maxMs).toBe(10_000);
    expect(c.wake.refractoryMs).toBe(2_000);
    expect(c.device.id).toBe('');
    expect(c.dataDir).toBe(join(homedir(), '.local/share/earshot'));
  });

  it('device-config/default.json is exactly the built-in defaults and loads cleanly', async () => {
    const file = new URL('../../device-config/default.json', import.meta.url).pathname;
    const shipped = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    delete shipped['$schema'];
    expect(shipped).toEqual(DEFAULT_CONFIG);
    const loaded = await loadConfigDetailed(file, { dataDir: '/var/lib/earshot' });
    expect(loaded.migrations).toEqual([]);
    expect(loaded.config.dataDir).toBe('/var/lib/earshot');
    expect(loaded.config).not.toHaveProperty('$schema');
  });

  it('deep-merges a partial file over the defaults', async () => {
    const file = await writeConfig({ configVersion: 1, wake: { threshold: 0.7 }, device: { groups: ['kitchen'] } });
    const c = await loadConfig(file);
    expect(c.wake.threshold).toBe(0.7);
    expect(c.wake.words).toEqual([{ name: 'hey_jarvis' }]);
    expect(c.wake.patienceFrames).toBe(1);
    expect(c.device.groups).toEqual(['kitchen']);
    expect(c.privacy.retentionDays).toBe(30);
  });

  it('--data-dir overrides the file; a relative dataDir in the file is relative to the file', async () => {
    const file = await writeConfig({ configVersion: 1, dataDir: 'state', uplink: { caFile: 'certs/ca.pem' } });
    const dir = join(file, '..');
    expect((await loadConfig(file)).dataDir).toBe(join(dir, 'state'));
    expect((await loadConfig(file)).uplink.caFile).toBe(join(dir, 'certs/ca.pem'));
    expect((await loadConfig(file, { dataDir: '/srv/earshot' })).dataDir).toBe('/srv/earshot');
  });

  it('names the offending field and the file', async () => {
    const file = await writeConfig({ configVersion: 1, wake: { threshold: 1.5 } });
    const r = await refusal(loadConfig(file));
    expect(r.code).toBe('CONFIG_INVALID');
    expect(r.message).toContain(file);
    expect(r.message).toContain('wake.threshold: must be <= 1');
  });

  it('wake.noiseSuppressionDb: 0 (off) to 60 dB, whole numbers, named when wrong', async () => {
    expect((await loadConfig(await writeConfig({ configVersion: 1, wake: { noiseSuppressionDb: 20 } }))).wake.noiseSuppressionDb).toBe(20);
    for (const [v, why] of [[61, 'must be <= 60'], [-1, 'must be >= 0'], [1.5, 'must be integer']] as const) {
      const r = await refusal(loadConfig(await writeConfig({ configVersion: 1, wake: { noiseSuppressionDb: v } })));
      expect(r.message).toContain(`wake.noiseSuppressionDb: ${why}`);
    }
  });

  it('names fields inside arrays and unknown fields', async () => {
    const bad = await refusal(loadConfig(await writeConfig({ configVersion: 1, wake: { words: [{ name: 'hey_jarvis' }, { name: 'alexa', threshold: 0 }] } })));
    expect(bad.message).toContain('wake.words[1].threshold: must be > 0');
    const typo = await refusal(loadConfig(await writeConfig({ configVersion: 1, wake: { thresold: 0.6 } })));
    expect(typo.code).toBe('CONFIG_INVALID');
    expect(typo.message).toContain('wake.thresold: unknown field');
    const top = await refusal(loadConfig(await writeConfig({ configVersion: 1, colour: 'red' })));
    expect(top.message).toContain('colour: unknown field');
    const enumBad = await refusal(loadConfig(await writeConfig({ configVersion: 1, log: { level: 'loud' } })));
    expect(enumBad.message).toContain('log.level: must be one of "debug", "info", "warn", "error", "silent"');
  });

  it('refuses cross-field contradictions and duplicate wake words', async () => {
    const r = await refusal(loadConfig(await writeConfig({ configVersion: 1, capture: { endSilenceMs: 5000, maxMs: 4000 } })));
    expect(r.message).toContain('capture.endSilenceMs: must be < capture.maxMs');
    const d = await refusal(loadConfig(await writeConfig({ configVersion: 1, wake: { words: [{ name: 'alexa' }, { name: 'alexa' }] } })));
    expect(d.message).toContain('wake.words[1].name: duplicate wake word');
  });

  it('refuses a group named "all" (reserved for fleet-wide documents) and topic characters in ids', async () => {
    const r = await refusal(loadConfig(await writeConfig({ configVersion: 1, device: { groups: ['all'] } })));
    expect(r.message).toContain('device.groups[0]: value is reserved');
    const slash = await refusal(loadConfig(await writeConfig({ configVersion: 1, device: { id: 'a/b' } })));
    expect(slash.message).toContain('device.id: must match pattern');
    const wildcard = await refusal(loadConfig(await writeConfig({ configVersion: 1, device: { groups: ['#'] } })));
    expect(wildcard.message).toContain('device.groups[0]');
  });

  it('missing file → CONFIG_NOT_FOUND', async () => {
    const r = await refusal(loadConfig(join(await tempDir(), 'nope.json')));
    expect(r.code).toBe('CONFIG_NOT_FOUND');
    expect(r.message).toContain('nope.json');
  });

  it('invalid JSON → CONFIG_INVALID with line and column', async () => {
    const file = await writeConfig('{\n  "configVersion": 1,\n  "wake": { "threshold": 0.5, }\n}\n');
    const r = await refusal(loadConfig(file));
    expect(r.code).toBe('CONFIG_INVALID');
    expect(r.message).toContain(`${file}:3:31: invalid JSON: Expected double-quoted property name`);
    const truncated = await refusal(loadConfig(await writeConfig('{"configVersion": 1,\n "wake": {')));
    expect(truncated.message).toMatch(/:2:11: invalid JSON: /);
    const notObject = await refusal(loadConfig(await writeConfig('[1,2]')));
    expect(notObject.message).toContain('(root): must be a JSON object');
  });

  it('refuses __proto__ and constructor keys without touching Object.prototype', async () => {
    const proto = await refusal(loadConfig(await writeConfig('{"configVersion":1,"wake":{"__proto__":{"polluted":true}}}')));
    expect(proto.code).toBe('CONFIG_INVALID');
    expect(proto.message).toContain('wake.__proto__: forbidden key');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const ctor = await refusal(loadConfig(await writeConfig({ configVersion: 1, constructor: { prototype: { x: 1 } } })));
    expect(ctor.message).toContain('constructor: forbidden key');
  });

  it('migrates a version 0 (flat) file and reports the step', async () => {
    const file = await writeConfig({
      deviceId: 'kitchen-01',
      groups: ['eu'],
      micDevice: 'plughw:1,0',
      wakeword: ['hey_jarvis', 'alexa'],
      threshold: 0.6,
      mqttUrl: 'mqtts://broker.example:8883',
      localOnly: true,
      retentionDays: 7,
      logLevel: 'debug',
      capture: { maxMs: 8000 },
    });
    const loaded = await loadConfigDetailed(file);
    expect(loaded.fileVersion).toBe(0);
    expect(loaded.migrations).toHaveLength(1);
    const c = loaded.config;
    expect(c.configVersion).toBe(1);
    expect(c.device).toEqual({ id: 'kitchen-01', groups: ['eu'] });
    expect(c.audio.device).toBe('plughw:1,0');
    expect(c.wake.words).toEqual([{ name: 'hey_jarvis' }, { name: 'alexa' }]);
    expect(c.wake.threshold).toBe(0.6);
    expect(c.uplink.brokerUrl).toBe('mqtts://broker.example:8883');
    expect(c.privacy).toMatchObject({ localOnly: true, retentionDays: 7 });
    expect(c.log.level).toBe('debug');
    expect(c.capture.maxMs).toBe(8000);
  });

  it('a version 0 value that is invalid after migration is reported at its new path', async () => {
    const r = await refusal(loadConfig(await writeConfig({ threshold: 2 })));
    expect(r.message).toContain('wake.threshold: must be <= 1');
  });

  it('refuses conflicting flat and nested keys, and files from a newer earshot', async () => {
    const conflict = await refusal(loadConfig(await writeConfig({ deviceId: 'a', device: { id: 'b' } })));
    expect(conflict.message).toContain('deviceId: conflicts with device.id');
    const future = await refusal(loadConfig(await writeConfig({ configVersion: 9 })));
    expect(future.message).toContain('configVersion: 9 is newer');
  });

  it('pins fleet public keys given inline or as files, and refuses private keys and other key types', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const dir = await tempDir();
    await writeFile(join(dir, 'fleet.pub.pem'), pub);
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ configVersion: 1, fleet: { publicKeys: ['fleet.pub.pem', pub] } }));
    const c = await loadConfig(file);
    expect(c.fleet.publicKeys).toEqual([pub, pub]);

    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const r = await refusal(loadConfig(await writeConfig({ configVersion: 1, fleet: { publicKeys: [priv] } })));
    expect(r.message).toContain('fleet.publicKeys[0]: is a private key');
    expect(r.message).not.toContain(priv.split('\n')[1]);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const r2 = await refusal(loadConfig(await writeConfig({ configVersion: 1, fleet: { publicKeys: [rsa] } })));
    expect(r2.message).toContain('fleet.publicKeys[0]: not an Ed25519 public key');
    const r3 = await refusal(loadConfig(await writeConfig({ configVersion: 1, fleet: { publicKeys: ['missing.pem'] } })));
    expect(r3.message).toContain('fleet.publicKeys[0]: cannot read key file');
  });
});

describe('loadConfig on hostile nesting', () => {
  it('refuses 100 000 levels of nesting with CONFIG_INVALID naming the file and where (no stack overflow)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-deep-'));
    const file = join(dir, 'deep.json');
    const depth = 100_000;
    await writeFile(file, `{"wake": ${'['.repeat(depth)}${']'.repeat(depth)}}`);
    const err = await loadConfig(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEarshotError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/nested deeper than 64 levels/);
    expect((err as Error).message).toMatch(/:1:\d+:/);
  });

  it('still reads nesting a real config uses, and brackets inside strings do not count', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-deep-'));
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ audio: { device: '[[[[{{{{\\"'.repeat(40) } }));
    const c = await loadConfig(file);
    expect(c.audio.device).toBe('[[[[{{{{\\"'.repeat(40));
  });
});
