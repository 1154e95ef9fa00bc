/**
 * `earshot owners wakeword` (claim, release, list an owner's wake words) and `earshot owners threshold` (the
 * owner's own threshold and verifier gate per word): thin wrappers over the application layer. A word the device
 * does not listen for may be claimed (the device config or a fleet document may add it later) with a warning.
 */
import { EarshotError } from '../../core/index.js';
import type { DeviceConfig } from '../../config/index.js';
import { effectiveDeviceConfig, readAppliedFleetState, wakeWithOwnerThresholds, type AppliedFleetDocument } from '../../fleet/index.js';
import type { RecordingStore } from '../../store/index.js';
import { stringOption, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { CLI_SOURCE, withApp } from '../command-context.js';
import { ownerOption } from '../owner-option.js';

function json(args: ParsedArgs): boolean {
  return args.values['json'] === true;
}

/** The running configuration as the daemon would layer it: the device config with the applied fleet documents. */
export async function runningConfig(config: DeviceConfig, deviceId: string, store: RecordingStore): Promise<{ live: DeviceConfig; documents: AppliedFleetDocument[] }> {
  const state = await readAppliedFleetState(store.settings, deviceId, config.device.groups, config.fleet.publicKeys);
  return { live: effectiveDeviceConfig(config, state.documents), documents: state.documents };
}

function notListened(word: string, live: DeviceConfig): string | undefined {
  const words = live.wake.words.map((w) => w.name);
  return words.includes(word) ? undefined : `this device does not listen for "${word}" (wake.words: ${words.join(', ')}); the claim applies once it does`;
}

const ownersWakeword: Command = {
  path: ['owners', 'wakeword'],
  summary: "claim or release a wake word for an owner, or list their claims (a claimed word's recordings are theirs whoever is active)",
  usage: 'earshot owners wakeword [--owner ID] [--add WORD | --remove WORD] [--json]',
  help: [
    'A recording woken by a claimed word belongs to the owner who claimed it, whoever is active; an unclaimed word',
    "goes to the active owner. Two owners cannot claim the same word (WAKEWORD_CLAIMED). The claims are sealed in the",
    "owner's profile under their own key, listed in their export and destroyed by their erasure.",
    '  --owner ID      owner (default: the active owner)',
    '  --add WORD      claim WORD (a model name, e.g. alexa); a word the device does not listen for is claimed with a warning',
    '  --remove WORD   release WORD',
    'Without --add or --remove: lists the owner\'s claims.',
  ].join('\n'),
  options: { owner: { type: 'string' }, add: { type: 'string' }, remove: { type: 'string' } },
  async run(args, io) {
    const ownerId = ownerOption(args);
    const add = args.values['add'];
    const remove = args.values['remove'];
    if (add !== undefined && remove !== undefined) throw new EarshotError('BAD_ARGUMENT', 'give --add or --remove, not both');
    for (const [name, v] of [['add', add], ['remove', remove]] as const) {
      if (v !== undefined && (typeof v !== 'string' || v === '')) throw new EarshotError('BAD_ARGUMENT', `--${name} needs a wake word (e.g. --${name} alexa)`, { details: { field: `--${name}` } });
    }
    return withApp(args, io, async (app, ctx) => {
      const owner = await app.resolveOwner(ownerId);
      if (typeof add !== 'string' && typeof remove !== 'string') {
        const s = await app.wakeSettings(owner);
        if (json(args)) writeLine(io.stdout, JSON.stringify({ ownerId: owner, claims: s.claims }));
        else writeLine(io.stdout, s.claims.length === 0 ? `owner ${owner} claims no wake words` : `owner ${owner} claims: ${s.claims.join(', ')}`);
        return 0;
      }
      const word = (add ?? remove) as string;
      const change = typeof add === 'string' ? await app.claimWakeword(owner, word, { source: CLI_SOURCE }) : await app.releaseWakeword(owner, word, { source: CLI_SOURCE });
      const warning = typeof add === 'string' ? notListened(word, (await runningConfig(ctx.config, ctx.deviceId, ctx.store)).live) : undefined;
      if (warning !== undefined) writeLine(io.stderr, `earshot owners wakeword: warning: ${warning}`);
      if (json(args)) {
        writeLine(io.stdout, JSON.stringify({ ownerId: owner, wakeword: word, action: typeof add === 'string' ? 'claim' : 'release', changed: change.changed, claims: change.claims, ...(warning ? { warning } : {}) }));
      } else {
        const what = typeof add === 'string' ? (change.changed ? 'claimed' : 'already claimed') : change.changed ? 'released' : 'was not claimed';
        writeLine(io.stdout, `${word}: ${what} by owner ${owner} (claims: ${change.claims.length === 0 ? 'none' : change.claims.join(', ')})`);
      }
      return 0;
    });
  },
};

function scoreOption(args: ParsedArgs, name: string): number | null | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  if (v === 'clear') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || !(n > 0 && n <= 1)) throw new EarshotError('BAD_ARGUMENT', `--${name} must be a number above 0 and at most 1, or "clear" (got ${JSON.stringify(v)})`, { details: { field: `--${name}` } });
  return n;
}

const ownersThreshold: Command = {
  path: ['owners', 'threshold'],
  summary: "set or clear an owner's own threshold (and verifier gate) for a wake word; without values, show what is in effect",
  usage: 'earshot owners threshold --wakeword WORD [--owner ID] [--threshold X|clear] [--verifier-gate G|clear] [--json]',
  help: [
    "The owner's threshold applies to a word when it routes to them (they claimed it, or it is unclaimed and they are",
    'active). It replaces the device config\'s for that word, lower or higher, but a fleet document can only make it',
    "stricter: in effect = max(owner's threshold, the fleet documents' floor). earshot tune --apply sets both values.",
  ].join('\n'),
  options: { owner: { type: 'string' }, wakeword: { type: 'string' }, threshold: { type: 'string' }, 'verifier-gate': { type: 'string' } },
  async run(args, io) {
    const ownerId = ownerOption(args);
    const word = stringOption(args, 'wakeword');
    if (word === undefined) throw new EarshotError('BAD_ARGUMENT', '--wakeword is required', { details: { field: '--wakeword' } });
    const threshold = scoreOption(args, 'threshold');
    const verifierGate = scoreOption(args, 'verifier-gate');
    return withApp(args, io, async (app, ctx) => {
      const owner = await app.resolveOwner(ownerId);
      const settings =
        threshold === undefined && verifierGate === undefined
          ? await app.wakeSettings(owner)
          : await app.setWakeThreshold(owner, word, { ...(threshold !== undefined ? { threshold } : {}), ...(verifierGate !== undefined ? { verifierGate } : {}) }, { source: CLI_SOURCE });
      const report = await thresholdReport(ctx, word, settings.thresholds[word]);
      const out = { ownerId: owner, wakeword: word, threshold: settings.thresholds[word] ?? null, verifierGate: settings.verifierGates[word] ?? null, ...report };
      if (json(args)) writeLine(io.stdout, JSON.stringify(out));
      else {
        writeLine(io.stdout, `owner ${owner}, ${word}: own threshold ${out.threshold ?? '(none: the device config applies)'}, verifier gate ${out.verifierGate ?? '(none)'}`);
        writeLine(io.stdout, `  in effect when ${word} routes to this owner: ${report.inEffect} (device ${report.device}, fleet floor ${report.fleetFloor})${report.listened ? '' : ' — the device does not listen for it'}`);
      }
      return 0;
    });
  },
};

/** What a threshold choice means on this device: the running config's value, the fleet's floor, the result. */
export async function thresholdReport(
  ctx: { config: DeviceConfig; deviceId: string; store: RecordingStore },
  word: string,
  choice: number | undefined,
): Promise<{ device: number; fleetFloor: number; inEffect: number; listened: boolean }> {
  const { live, documents } = await runningConfig(ctx.config, ctx.deviceId, ctx.store);
  const listed = live.wake.words.find((w) => w.name === word);
  const probe = { ...live.wake, words: [listed ?? { name: word }] };
  const device = probe.words[0]!.threshold ?? live.wake.threshold;
  const withChoice = wakeWithOwnerThresholds(probe, documents, () => choice);
  const floor = wakeWithOwnerThresholds(probe, documents, () => 0).words[0]!.threshold!;
  return { device, fleetFloor: floor, inEffect: withChoice.words[0]!.threshold ?? live.wake.threshold, listened: listed !== undefined };
}

export const commands: Command[] = [ownersWakeword, ownersThreshold];
