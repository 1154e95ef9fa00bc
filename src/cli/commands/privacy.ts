/**
 * `earshot consent grant|revoke|status` and `earshot local-only on|off|status`.
 * The command logic is written against the store ports (src/core/ports.ts) so it is tested with in-memory
 * fakes; the Command wrappers open the SQLite store for it.
 */
import { systemClock, type Clock } from '../../core/clock.js';
import { EarshotError } from '../../core/errors.js';
import type { ConsentLedgerRepo, OutboxRepo, OwnerPrivacyRepo, SettingsRepo } from '../../core/ports.js';
import type { AuditSink, ConsentEvent } from '../../core/privacy-types.js';
import type { DeviceConfig } from '../../config/types.js';
import { readAppliedFleetState } from '../../fleet/applied-store.js';
import { mergeFleetPrivacy } from '../../fleet/merge.js';
import { ConsentLedger, DEFAULT_SOURCE, DEFAULT_TEXT_VERSION, type PurposeStatus } from '../../privacy/consent/index.js';
import { LocalOnlyPolicy, type LocalOnlyStatus } from '../../privacy/local-only/index.js';
import { stringOption, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { ownerOption, resolveOwner } from '../owner-option.js';
import { withStore } from '../command-context.js';

/** The store ports these commands need. */
export interface PrivacyPorts {
  consent: ConsentLedgerRepo;
  owners: OwnerPrivacyRepo;
  settings: SettingsRepo;
  audit: AuditSink;
  outbox?: OutboxRepo;
  /** True when owners.setLocalOnly audits the change itself (the SQLite store does), so it is not audited twice. */
  ownersAuditLocalOnly?: boolean;
}

export interface PrivacyContext {
  config: DeviceConfig;
  deviceId: string;
  clock?: Clock;
}

/** Whether applied fleet documents (persisted by the daemon's FleetConfigReceiver) force local-only on. */
export async function fleetForcesLocalOnly(settings: SettingsRepo, ctx: PrivacyContext): Promise<boolean> {
  const state = await readAppliedFleetState(settings, ctx.deviceId, ctx.config.device.groups, ctx.config.fleet.publicKeys);
  return mergeFleetPrivacy(state.documents.map((d) => d.config.privacy)).forceLocalOnly === true;
}

export interface ConsentChangeResult {
  event: ConsentEvent;
  /** Queued recordings of the owner removed from the outbox by a cloud-processing withdrawal. */
  removedFromOutbox: number;
}

export async function changeConsent(
  ports: PrivacyPorts,
  ctx: PrivacyContext,
  req: { action: 'grant' | 'revoke'; ownerId?: string; purpose: string; source?: string; textVersion?: string },
): Promise<ConsentChangeResult> {
  const ownerId = await resolveOwner(ports.owners, req.ownerId);
  let removedFromOutbox = 0;
  const ledger = new ConsentLedger({
    repo: ports.consent,
    audit: ports.audit,
    owners: ports.owners,
    clock: ctx.clock ?? systemClock,
    onRevoked: async (owner, purpose) => {
      // Withdrawal takes effect before the next publish: what is queued leaves the outbox now.
      if (purpose === 'cloud-processing' && ports.outbox) removedFromOutbox = await ports.outbox.removeOwner(owner);
    },
  });
  const source = req.source ?? DEFAULT_SOURCE;
  const textVersion = req.textVersion ?? DEFAULT_TEXT_VERSION;
  const event = req.action === 'grant' ? await ledger.grant(ownerId, req.purpose, source, textVersion) : await ledger.revoke(ownerId, req.purpose, source, textVersion);
  return { event, removedFromOutbox };
}

export async function consentStatus(ports: PrivacyPorts, ctx: PrivacyContext, ownerId?: string): Promise<{ ownerId: string; purposes: PurposeStatus[] }> {
  const owner = await resolveOwner(ports.owners, ownerId);
  const ledger = new ConsentLedger({ repo: ports.consent, audit: ports.audit, clock: ctx.clock ?? systemClock });
  return { ownerId: owner, purposes: await ledger.status(owner) };
}

function localOnlyPolicy(ports: PrivacyPorts, ctx: PrivacyContext): LocalOnlyPolicy {
  return new LocalOnlyPolicy({
    owners: ports.owners,
    ...(ports.ownersAuditLocalOnly ? {} : { audit: ports.audit }),
    fleetForcesLocalOnly: () => fleetForcesLocalOnly(ports.settings, ctx),
  });
}

export async function setLocalOnly(ports: PrivacyPorts, ctx: PrivacyContext, on: boolean, ownerId?: string): Promise<LocalOnlyStatus> {
  return localOnlyPolicy(ports, ctx).set(await resolveOwner(ports.owners, ownerId), on);
}

export async function localOnlyStatus(ports: PrivacyPorts, ctx: PrivacyContext, ownerId?: string): Promise<LocalOnlyStatus> {
  return localOnlyPolicy(ports, ctx).status(await resolveOwner(ports.owners, ownerId));
}

// ---- command wrappers -------------------------------------------------------------------------------------

async function withPrivacyPorts<T>(args: ParsedArgs, io: CommandIO, fn: (ports: PrivacyPorts, ctx: PrivacyContext) => Promise<T>): Promise<T> {
  return withStore(args, io, (store, config, deviceId) => {
    const ports: PrivacyPorts = { consent: store.consent, owners: store.owners, settings: store.settings, audit: store.audit, outbox: store.outbox, ownersAuditLocalOnly: true };
    return fn(ports, { config, deviceId });
  });
}


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
      const r = await withPrivacyPorts(args, io, (ports, ctx) =>
        changeConsent(ports, ctx, {
          action,
          purpose,
          ...(ownerId !== undefined ? { ownerId } : {}),
          ...(source !== undefined ? { source } : {}),
          ...(textVersion !== undefined ? { textVersion } : {}),
        }),
      );
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
    const r = await withPrivacyPorts(args, io, (ports, ctx) => consentStatus(ports, ctx, ownerOption(args)));
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
      const s = await withPrivacyPorts(args, io, (ports, ctx) => setLocalOnly(ports, ctx, on, ownerOption(args)));
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
    printLocalOnly(io, args, await withPrivacyPorts(args, io, (ports, ctx) => localOnlyStatus(ports, ctx, ownerOption(args))));
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
