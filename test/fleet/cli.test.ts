/** `earshot fleet keygen|sign|push` end to end; push goes to a real Mosquitto started on a free port. */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFleetDocument } from '../../src/fleet/index.js';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.js';
import { runEarshot } from '../helpers/cli.js';

async function earshot(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runEarshot(args);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

describe('earshot fleet', () => {
  let dir: string;
  const brokers: TestBroker[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-fleet-cli-'));
  });
  afterAll(async () => {
    for (const b of brokers) await b.dispose();
  });

  it('keygen writes a 0600 private key and never overwrites it', async () => {
    const r = await earshot(['fleet', 'keygen', '--out', join(dir, 'keys'), '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { keyId: string; privateKey: string; publicKey: string };
    expect(info.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect((await stat(info.privateKey)).mode & 0o777).toBe(0o600);
    expect(await readFile(info.publicKey, 'utf8')).toContain('BEGIN PUBLIC KEY');
    expect(r.stdout).not.toContain('PRIVATE KEY');
    const again = await earshot(['fleet', 'keygen', '--out', join(dir, 'keys')]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('refusing to overwrite');
  });

  it('sign writes a document devices verify; it refuses configs devices would refuse', async () => {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ privacy: { maxRetentionDays: 7 }, wake: { threshold: 0.65 } }));
    const r = await earshot(['fleet', 'sign', '--key', join(dir, 'keys/fleet-private.pem'), '--in', join(dir, 'config.json'), '--target', 'group:eu', '--version', '4', '--expires', '2099-01-01T00:00:00Z', '--out', join(dir, 'signed.json'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ target: 'group:eu', version: 4, topic: 'earshot/v1/fleet/eu/config', expiresAt: '2099-01-01T00:00:00.000Z' });
    const pub = await readFile(join(dir, 'keys/fleet-public.pem'), 'utf8');
    const v = verifyFleetDocument(await readFile(join(dir, 'signed.json')), {
      publicKeys: [pub],
      deviceId: 'es-1',
      groups: ['eu'],
      now: Date.now(),
      lastAppliedVersion: () => 3,
    });
    expect(v.ok).toBe(true);

    await writeFile(join(dir, 'loose.json'), JSON.stringify({ privacy: { forceLocalOnly: false } }));
    const loose = await earshot(['fleet', 'sign', '--key', join(dir, 'keys/fleet-private.pem'), '--in', join(dir, 'loose.json'), '--target', 'fleet', '--version', '5']);
    expect(loose.code).toBe(2);
    expect(loose.stderr).toContain('loosens-privacy');
    const noKey = await earshot(['fleet', 'sign', '--key', join(dir, 'keys/fleet-public.pem'), '--in', join(dir, 'config.json'), '--target', 'fleet', '--version', '5']);
    expect(noKey.stderr).toContain('not a PEM private key');
  });

  it('push publishes retained QoS 1 to the target topic and prints the PUBACK reason', async () => {
    const broker = await startTestBroker({ tls: false });
    brokers.push(broker);
    const r = await earshot(['fleet', 'push', '--broker', broker.url, '--json', join(dir, 'signed.json')]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ topic: 'earshot/v1/fleet/eu/config', target: 'group:eu', version: 4, accepted: true });
    expect([0, 16]).toContain(JSON.parse(r.stdout).reasonCode);

    // A device subscribing later gets the retained document, byte for byte.
    const device = await connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    const received = new Promise<{ topic: string; payload: Buffer; retain: boolean }>((resolve) =>
      device.on('message', (topic, payload, packet) => resolve({ topic, payload, retain: packet.retain })),
    );
    await device.subscribeAsync('earshot/v1/fleet/+/config', { qos: 1 });
    const msg = await received;
    await device.endAsync();
    expect(msg.topic).toBe('earshot/v1/fleet/eu/config');
    expect(msg.retain).toBe(true);
    expect(msg.payload.equals(await readFile(join(dir, 'signed.json')))).toBe(true);
  }, 20_000);

  it('push reports a broker ACL refusal (0x87) and exits non-zero', async () => {
    const broker = await startTestBroker({ tls: false, aclText: 'topic read earshot/#\n' });
    brokers.push(broker);
    const r = await earshot(['fleet', 'push', '--broker', broker.url, join(dir, 'signed.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PUBACK 0x87 (not authorized)');
  }, 20_000);
});
