/**
 * `earshot consent grant|revoke|status` and `earshot local-only on|off|status`: thin wrappers over the
 * application layer (the same operations the daemon and the owner page use).
 */
import type { LocalOnlyStatus } from '../../app/index.js';
import { EarshotError } from '../../core/index.js';
import { DEFAULT_SOURCE, DEFAULT_TEXT_VERSION } from '../../privacy/index.js';
import { stringOption, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { withApp } from '../command-context.js';
import { ownerOption } from '../owner-option.js';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

const CONSENT_HELP = [
  'Purposes: cloud-processing (upload so the cloud can answer), quality-improvement (human review / training).',
  'Each needs its own consent. The ledger is append-only; status is computed from it.',
  '  --owner ID          owner (default: the active owner)',
  '  --purpose P         cloud-processing | quality-improvement',
  `  --source S          where the decision was made (default ${DEFAULT_SOURCE}); never "fleet"`,
  `  --text-version V    version of the consent text shown (default ${DEFAULT_TEXT_VERSION})`,
].join('\n');

function consentChangeCommand(action: 'grant' | 'revoke'): Command {
  return {
    path: ['consent', action],
    summary: action === 'grant' ? "record the owner's consent for a purpose" : 'withdraw consent for a purpose (queued uploads are dropped)',
    usage: `earshot consent ${action} --purpose P [--owner ID] [--source S] [--text-version V] [--json]`,
    help: CONSENT_HELP + (action === 'revoke' ? '\nWithdrawing cloud-processing removes the owner\'s queued recordings from the outbox at once.' : ''),
    options: { owner: { type: 'string' }, purpose: { type: 'string' }, source: { type: 'string' }, 'text-version': { type: 'string' } },
    async run(args, io) {
      const purpose = stringOption(args, 'purpose');
      if (purpose === undefined) throw new EarshotError('BAD_ARGUMENT', '--purpose is required (cloud-processing | quality-improvement)');
      const ownerId = ownerOption(args);
      const source = stringOption(args, 'source');
      const textVersion = stringOption(args, 'text-version');
      const r = await withApp(args, io, async (app) => {
        const owner = await app.resolveOwner(ownerId);
        const origin = { source: source ?? DEFAULT_SOURCE, ...(textVersion !== undefined ? { textVersion } : {}) };
        return action === 'grant' ? app.grantConsent(owner, purpose, origin) : app.withdrawConsent(owner, purpose, origin);
      });
      const e = r.event;
      if (args.values['json'] === true) {
        writeLine(io.stdout, JSON.stringify({ ownerId: e.ownerId, purpose: e.purpose, action: e.action, at: iso(e.at), source: e.source, textVersion: e.textVersion, removedFromOutbox: r.removedFromOutbox }));
      } else {
        writeLine(io.stdout, `consent ${action === 'grant' ? 'granted' : 'withdrawn'}: ${e.purpose} for owner ${e.ownerId} (source ${e.source}, text ${e.textVersion}, ${iso(e.at)})`);
        if (action === 'revoke' && e.purpose === 'cloud-processing') writeLine(io.stdout, `${r.removedFromOutbox} queued recording(s) removed from the outbox`);
      }
      return 0;
    },
  };
}

const consentStatusCommand: Command = {
  path: ['consent', 'status'],
  summary: 'show which purposes an owner has consented to',
  usage: 'earshot consent status [--owner ID] [--json]',
  help: CONSENT_HELP,
  options: { owner: { type: 'string' } },
  async run(args, io) {
    const r = await withApp(args, io, async (app) => app.consentOf(await app.resolveOwner(ownerOption(args))));
    if (args.values['json'] === true) {
      writeLine(io.stdout, JSON.stringify({ ownerId: r.ownerId, purposes: r.purposes.map((p) => ({ ...p, since: iso(p.since) })) }));
      return 0;
    }
    writeLine(io.stdout, `owner ${r.ownerId}`);
    for (const p of r.purposes) {
      const state = p.active
        ? `granted since ${iso(p.since)} (${p.source}, text ${p.textVersion})`
        : p.since === null
          ? 'never granted'
          : `withdrawn since ${iso(p.since)} (${p.source})`;
      writeLine(io.stdout, `  ${p.purpose.padEnd(20)} ${state}`);
    }
    return 0;
  },
};

function printLocalOnly(io: CommandIO, args: ParsedArgs, s: LocalOnlyStatus): void {
  if (args.values['json'] === true) {
    writeLine(io.stdout, JSON.stringify(s));
    return;
  }
  const note = s.forcedByFleet ? ' (forced on by fleet configuration)' : '';
  writeLine(io.stdout, `local-only ${s.effective ? 'on' : 'off'} for owner ${s.ownerId}${note}; owner's choice: ${s.ownerChoice ? 'on' : 'off'}`);
}

function localOnlyCommand(on: boolean): Command {
  return {
    path: ['local-only', on ? 'on' : 'off'],
    summary: on ? 'stop every upload of audio and personal data for an owner' : 'allow uploads again (still subject to consent)',
    usage: `earshot local-only ${on ? 'on' : 'off'} [--owner ID] [--json]`,
    help: 'Persisted and in effect at once (the uplink checks before every publish). A fleet may force it on; then only the fleet can lift it.\n  --owner ID   owner (default: the active owner)',
    options: { owner: { type: 'string' } },
    async run(args, io) {
      const s = await withApp(args, io, async (app) => app.setLocalOnly(await app.resolveOwner(ownerOption(args)), on, { source: 'owner-cli' }));
      printLocalOnly(io, args, s);
      return 0;
    },
  };
}

const localOnlyStatusCommand: Command = {
  path: ['local-only', 'status'],
  summary: "show an owner's local-only mode and whether the fleet forces it",
  usage: 'earshot local-only status [--owner ID] [--json]',
  options: { owner: { type: 'string' } },
  async run(args, io) {
    printLocalOnly(io, args, await withApp(args, io, async (app) => app.localOnlyStatus(await app.resolveOwner(ownerOption(args)))));
    return 0;
  },
};

export const commands: Command[] = [
  consentChangeCommand('grant'),
  consentChangeCommand('revoke'),
  consentStatusCommand,
  localOnlyCommand(true),
  localOnlyCommand(false),
  localOnlyStatusCommand,
];
