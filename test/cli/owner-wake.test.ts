/** `earshot owners wakeword` and `earshot owners threshold` on a real data directory (in-process CLI). */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commands as ownerWake } from '../../src/cli/commands/owner-wake.js';
import { commands as store } from '../../src/cli/commands/store.js';
import { commands as wake } from '../../src/cli/commands/wake.js';
import { runEarshot } from '../helpers/cli.js';
import { tempDir } from '../store/helpers.js';

describe('earshot owners wakeword / threshold', () => {
  let t: ReturnType<typeof tempDir>;
  let dir: string;
  const cli = (...argv: string[]) => runEarshot(argv, { EARSHOT_DATA_DIR: dir }, [...store, ...ownerWake, ...wake]);
  beforeEach(() => {
    t = tempDir('earshot-cli-claims-');
    dir = path.join(t.dir, 'data');
  });
  afterEach(() => t.cleanup());

  it('claims, lists, refuses a second claimer, warns about a word the device does not listen for, releases', async () => {
    expect((await cli('init')).code).toBe(0);
    const alice = (await cli('owners', 'add', '--name', 'Alice')).out.trim();
    const bob = (await cli('owners', 'add', '--name', 'Bob')).out.trim();
    const claimed = await cli('owners', 'wakeword', '--owner', alice, '--add', 'hey_jarvis', '--json');
    expect(claimed.code).toBe(0);
    expect(JSON.parse(claimed.out)).toEqual({ ownerId: alice, wakeword: 'hey_jarvis', action: 'claim', changed: true, claims: ['hey_jarvis'] });
    expect(claimed.err).toBe('');
    // The default device config listens for hey_jarvis only: alexa is claimed with a warning.
    const alexa = await cli('owners', 'wakeword', '--owner', alice, '--add', 'alexa');
    expect(alexa.code).toBe(0);
    expect(alexa.out).toContain('alexa: claimed by owner');
    expect(alexa.err).toContain('warning: this device does not listen for "alexa"');
    expect(JSON.parse((await cli('owners', 'wakeword', '--owner', alice, '--json')).out)).toEqual({ ownerId: alice, claims: ['alexa', 'hey_jarvis'] });

    const refused = await cli('owners', 'wakeword', '--owner', bob, '--add', 'hey_jarvis');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('WAKEWORD_CLAIMED');
    const bad = await cli('owners', 'wakeword', '--owner', bob, '--add', 'Hey Jarvis');
    expect(bad.code).toBe(2);
    expect((await cli('owners', 'wakeword', '--owner', '', '--add', 'alexa')).code).toBe(2);
    expect((await cli('owners', 'wakeword', '--owner', bob, '--add', 'alexa', '--remove', 'alexa')).code).toBe(2);

    expect((await cli('owners', 'wakeword', '--owner', alice, '--remove', 'hey_jarvis')).out).toContain('hey_jarvis: released');
    expect((await cli('owners', 'wakeword', '--owner', bob, '--add', 'hey_jarvis')).code).toBe(0);
    // owners list shows each owner's claims.
    const listed = JSON.parse((await cli('owners', 'list', '--json')).out) as { id: string; claims: string[] }[];
    expect(listed.map((o) => [o.id, o.claims])).toEqual([[alice, ['alexa']], [bob, ['hey_jarvis']]]);
    expect((await cli('owners', 'list')).out).toContain('claims=alexa');
    // Without --owner: the active owner (Alice, the first).
    expect((await cli('owners', 'wakeword')).out).toBe(`owner ${alice} claims: alexa\n`);
  });

  it("sets, shows and clears an owner's threshold and gate, with what is in effect", async () => {
    expect((await cli('init')).code).toBe(0);
    const alice = (await cli('owners', 'add', '--name', 'Alice')).out.trim();
    const set = await cli('owners', 'threshold', '--owner', alice, '--wakeword', 'hey_jarvis', '--threshold', '0.35', '--verifier-gate', '0.1', '--json');
    expect(set.code).toBe(0);
    expect(JSON.parse(set.out)).toEqual({ ownerId: alice, wakeword: 'hey_jarvis', threshold: 0.35, verifierGate: 0.1, device: 0.5, fleetFloor: 0, inEffect: 0.35, listened: true });
    expect((await cli('owners', 'threshold', '--wakeword', 'hey_jarvis')).out).toContain('own threshold 0.35');
    expect((await cli('owners', 'threshold', '--owner', alice, '--wakeword', 'hey_jarvis', '--threshold', '2')).code).toBe(2);
    expect((await cli('owners', 'threshold', '--owner', alice, '--wakeword', 'hey_jarvis', '--verifier-gate', '0.5')).code).toBe(2);
    const cleared = JSON.parse((await cli('owners', 'threshold', '--owner', alice, '--wakeword', 'hey_jarvis', '--threshold', 'clear', '--json')).out) as Record<string, unknown>;
    expect(cleared).toMatchObject({ threshold: null, verifierGate: 0.1, inEffect: 0.5 });
  });

  it("detect --owner runs each word at the owner's own threshold (the fixture peaks at 0.997: an owner's 0.999 hears nothing)", async () => {
    expect((await cli('init')).code).toBe(0);
    const alice = (await cli('owners', 'add', '--name', 'Alice')).out.trim();
    const clip = path.resolve(__dirname, '../fixtures/wake/hey_jarvis__en-us.wav');
    const plain = await cli('detect', clip, '--json');
    expect(plain.out.trim().split('\n').map((l) => (JSON.parse(l) as { wakeword: string }).wakeword)).toEqual(['hey_jarvis']);
    expect((await cli('owners', 'threshold', '--owner', alice, '--wakeword', 'hey_jarvis', '--threshold', '0.999')).code).toBe(0);
    const owned = await cli('detect', clip, '--owner', alice, '--json');
    expect(owned.code).toBe(0);
    expect(owned.out).toBe('');
    expect(owned.err).toContain('own thresholds: hey_jarvis 0.999');
    // An explicit --threshold still decides.
    expect((await cli('detect', clip, '--owner', alice, '--threshold', '0.5', '--json')).out).toContain('hey_jarvis');
  }, 60_000);
});
