/**
 * Store, owner and data-subject commands: init, owners, recordings, export, erase, audit, keys, retention.
 * Each command opens the store from --data-dir / EARSHOT_DATA_DIR / config.dataDir and closes it again.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { ensureStoredDeviceId } from '../../config/index.js';
import { EarshotError } from '../../core/index.js';
import { encodeWav } from '../../audio/index.js';
import { decryptBundleFile, readPassphraseFile } from '../../privacy/index.js';
import { initDataDir } from '../../store/index.js';
import { parseExpectedHead } from '../../audit/index.js';
import { checkOwnerId, ownerOption, requiredOwnerOption } from '../owner-option.js';
import { singlePositional, requiredOption, stringOption, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { CLI_SOURCE, commandConfig, withApp } from '../command-context.js';

function json(args: ParsedArgs): boolean {
  return args.values['json'] === true;
}

function out(io: CommandIO, value: unknown): void {
  writeLine(io.stdout, JSON.stringify(value));
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function requireYes(args: ParsedArgs, what: string): void {
  if (args.values['yes'] !== true) throw new EarshotError('BAD_ARGUMENT', `${what} cannot be undone; add --yes to confirm`);
}

/** A progress bar on a terminal, plain lines (every 10 %) elsewhere. Written to stderr. */
export function progressReporter(io: CommandIO, label: string): { update(done: number, total: number): void; end(): void } {
  const tty = io.stderr.isTTY === true;
  let lastDecile = -1;
  let drawn = false;
  return {
    update(done, total) {
      if (tty) {
        const width = 30;
        const filled = total === 0 ? width : Math.round((done / total) * width);
        io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
        drawn = true;
      } else {
        const decile = total === 0 ? 10 : Math.floor((done / total) * 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          writeLine(io.stderr, `${label}: ${done}/${total}`);
        }
      }
    },
    end() {
      if (tty && drawn) io.stderr.write('\n');
    },
  };
}

const init: Command = {
  path: ['init'],
  summary: 'create the data directory, the device key file (0600) and the encrypted database',
  usage: 'earshot init [--data-dir DIR] [--json]',
  help: 'Idempotent: an existing key file is never overwritten. Keep a backup of the key file: without it the database cannot be read.',
  options: {},
  async run(args, io) {
    const config = await commandConfig(args, io);
    await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const deviceId = await ensureStoredDeviceId(config.dataDir, config.device.id !== '' ? config.device.id : undefined);
    const r = await initDataDir(config.dataDir, { deviceId });
    if (json(args)) out(io, { dataDir: config.dataDir, deviceId, database: r.dbFile, keyFile: r.keyFile, created: r.created });
    else writeLine(io.stdout, `${r.created ? 'initialised' : 'already initialised'}: ${config.dataDir} (device ${deviceId}, key file ${r.keyFile})`);
    return 0;
  },
};

const ownersAdd: Command = {
  path: ['owners', 'add'],
  summary: 'add an owner (name stored encrypted) and print the new opaque owner id',
  usage: 'earshot owners add --name NAME [--retention-days N] [--local-only] [--json]',
  help: 'The first owner becomes the active owner. Retention defaults to config privacy.retentionDays (0 = delete after upload).',
  options: { name: { type: 'string' }, 'retention-days': { type: 'string' }, 'local-only': { type: 'boolean' } },
  async run(args, io) {
    const name = requiredOption(args, 'name');
    const rd = stringOption(args, 'retention-days');
    const retentionDays = rd === undefined ? undefined : Number(rd);
    if (retentionDays !== undefined && !Number.isInteger(retentionDays)) throw new EarshotError('BAD_ARGUMENT', '--retention-days must be a whole number');
    return withApp(args, io, async (app) => {
      const id = await app.addOwner({
        name,
        source: CLI_SOURCE,
        ...(retentionDays !== undefined ? { retentionDays } : {}),
        ...(args.values['local-only'] === true ? { localOnly: true } : {}),
      });
      if (json(args)) out(io, { ownerId: id, active: (await app.activeOwnerId()) === id });
      else writeLine(io.stdout, id);
      return 0;
    });
  },
};

const ownersList: Command = {
  path: ['owners', 'list'],
  summary: 'list owners (id, name, active, retention, local-only, recording count, claimed wake words)',
  usage: 'earshot owners list [--json]',
  options: {},
  async run(args, io) {
    return withApp(args, io, async (app) => {
      const owners = await app.listOwners();
      // Each owner's claims, opened with their own key (earshot owners wakeword changes them).
      const claims = new Map<string, string[] | null>((await app.wakeClaimsView()).owners.map((o) => [o.ownerId, 'settings' in o ? o.settings.claims : null]));
      if (json(args)) out(io, owners.map((o) => ({ ...o, claims: claims.get(o.id) ?? null })));
      else if (owners.length === 0) writeLine(io.stdout, 'no owners (earshot owners add --name NAME)');
      else
        for (const o of owners) {
          const c = claims.get(o.id);
          writeLine(io.stdout, `${o.active ? '*' : ' '} ${o.id}  ${o.name}  retention=${o.retentionDays}d  local-only=${o.localOnly ? 'on' : 'off'}  recordings=${o.recordings}${c && c.length > 0 ? `  claims=${c.join(',')}` : ''}`);
        }
      return 0;
    });
  },
};

const ownersUse: Command = {
  path: ['owners', 'use'],
  summary: 'make an owner the active one (new recordings belong to them)',
  usage: 'earshot owners use OWNER_ID [--json]',
  options: {},
  allowPositionals: true,
  async run(args, io) {
    const id = checkOwnerId(singlePositional(args, 'owner id'), 'owner id');
    return withApp(args, io, async (app) => {
      await app.useOwner(id, { source: CLI_SOURCE });
      if (json(args)) out(io, { activeOwnerId: id });
      else writeLine(io.stdout, `active owner: ${id}`);
      return 0;
    });
  },
};

const ownersTransfer: Command = {
  path: ['owners', 'transfer'],
  summary: 'hand the device on: shred every current owner (after an optional export), then add the new owner',
  usage: 'earshot owners transfer --name NEW_OWNER [--export-dir DIR [--passphrase-file FILE]] --yes [--json]',
  help: '--export-dir writes <ownerId>.tar (or .tar.enc with a passphrase) per current owner first; if any export fails, nothing is erased.',
  options: { name: { type: 'string' }, 'export-dir': { type: 'string' }, 'passphrase-file': { type: 'string' }, yes: { type: 'boolean' } },
  async run(args, io) {
    const name = requiredOption(args, 'name');
    requireYes(args, 'ownership transfer erases every current owner and');
    const pf = stringOption(args, 'passphrase-file');
    const passphrase = pf !== undefined ? await readPassphraseFile(pf) : undefined;
    const exportDir = stringOption(args, 'export-dir');
    return withApp(args, io, async (app) => {
      const r = await app.transferDevice({
        newOwnerName: name,
        source: CLI_SOURCE,
        ...(exportDir !== undefined ? { exportDir } : {}),
        ...(passphrase !== undefined ? { passphrase } : {}),
      });
      if (json(args)) out(io, { ownerId: r.ownerId, erased: r.erased, exports: r.exports });
      else {
        for (const e of r.exports) writeLine(io.stderr, `exported ${e.ownerId}: ${e.out} (sha256 ${e.sha256})`);
        for (const e of r.erased) writeLine(io.stderr, `erased ${e.ownerId}: ${e.recordings} recordings`);
        writeLine(io.stdout, r.ownerId);
      }
      return 0;
    });
  },
};

const recordingsList: Command = {
  path: ['recordings', 'list'],
  summary: "list an owner's recordings (default: the active owner)",
  usage: 'earshot recordings list [--owner ID] [--json]',
  options: { owner: { type: 'string' } },
  async run(args, io) {
    return withApp(args, io, async (app) => {
      const recs = await app.listRecordings(await app.resolveOwner(ownerOption(args)));
      if (json(args)) out(io, recs);
      else
        for (const r of recs)
          writeLine(io.stdout, `${r.id}  ${iso(r.createdAt)}  ${r.durationMs} ms  ${r.wakeword} (${r.score.toFixed(2)})  uploaded=${iso(r.uploadedAt)}${r.falseWake ? '  false-wake' : ''}`);
      return 0;
    });
  },
};

const recordingsPlay: Command = {
  path: ['recordings', 'play'],
  summary: 'decrypt one recording and play it with aplay, or write it as WAV with --out',
  usage: 'earshot recordings play RECORDING_ID [--owner ID] [--out FILE.wav | --device ALSA_DEVICE]',
  help: [
    "Acts for the active owner (or --owner): another owner's recording does not open.",
    'Options:',
    '  --out FILE.wav        write the recording (mode 0600; an existing file is not overwritten)',
    '  --device ALSA_DEVICE  play on this ALSA device (aplay -D; `aplay -L` lists them), default: the default device',
  ].join('\n'),
  options: { out: { type: 'string' }, owner: { type: 'string' }, device: { type: 'string' } },
  allowPositionals: true,
  async run(args, io) {
    const id = singlePositional(args, 'recording id');
    const file = stringOption(args, 'out');
    const device = stringOption(args, 'device');
    if (file !== undefined && device !== undefined) throw new EarshotError('BAD_ARGUMENT', '--out and --device exclude each other');
    return withApp(args, io, async (app) => {
      const ownerId = await app.resolveOwner(ownerOption(args));
      // Audited as played only once the file is written or aplay has played it.
      const rec = await app.playRecording(ownerId, id, { source: CLI_SOURCE }, async (r) => {
        const wav = encodeWav(r.pcm);
        if (file === undefined) return playWav(wav, device);
        await fs.writeFile(file, wav, { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
          throw new EarshotError('BAD_ARGUMENT', `cannot write ${file}: ${e.code ?? e.message}`);
        });
      });
      if (file !== undefined) writeLine(io.stderr, `wrote ${file} (${rec.durationMs} ms)`);
      return 0;
    });
  },
};

/** Pipes a WAV to aplay (the audio never touches a file); aplay's own message goes to our stderr. */
function playWav(wav: Buffer, device: string | undefined): Promise<void> {
  const args = ['-q', ...(device !== undefined ? ['-D', device] : []), '-t', 'wav', '-'];
  return new Promise<void>((resolve, reject) => {
    const child = spawn('aplay', args, { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', (e) =>
      reject(new EarshotError('PLAYBACK_FAILED', `cannot run aplay (${e.message}): install alsa-utils, or use --out FILE.wav`)),
    );
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new EarshotError('PLAYBACK_FAILED', `aplay ${signal ? `was stopped by ${signal}` : `exited with ${code}`}; try --device (aplay -L lists devices) or --out FILE.wav`)),
    );
    // aplay can exit before reading everything (a bad device): its exit code is the error that matters.
    child.stdin.on('error', () => undefined);
    child.stdin.end(wav);
  });
}

const recordingsDelete: Command = {
  path: ['recordings', 'delete'],
  summary: 'delete one recording',
  usage: 'earshot recordings delete RECORDING_ID [--owner ID] [--json]',
  help: 'Acts for the active owner (or --owner): another owner\'s recording cannot be deleted this way.',
  options: { owner: { type: 'string' } },
  allowPositionals: true,
  async run(args, io) {
    const id = singlePositional(args, 'recording id');
    return withApp(args, io, async (app) => {
      const deleted = await app.deleteRecordings(await app.resolveOwner(ownerOption(args)), [id], { source: CLI_SOURCE });
      if (deleted.length === 0) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${id}`);
      if (json(args)) out(io, { deleted: id });
      else writeLine(io.stdout, `deleted ${id}`);
      return 0;
    });
  },
};

const recordingsFlag: Command = {
  path: ['recordings', 'flag'],
  summary: 'mark a recording as a false wake ("not meant for the speaker"); retrains your verifier for its wake word',
  usage: 'earshot recordings flag RECORDING_ID --false-wake [--owner ID] [--json]',
  help: [
    "Acts for the active owner (or --owner): another owner's recording cannot be flagged.",
    'The mark is sealed with the recording. If the owner has enrolled a verifier for the wake word that woke it',
    '(earshot enroll), the verifier is retrained at once with this recording\'s wake features as an example of',
    'what is not them (features of the wake word window, never its audio). `earshot recordings unflag` undoes it.',
    'Options:',
    '  --false-wake   the kind of mark (the only one there is; required so the command says what it does)',
  ].join('\n'),
  options: { owner: { type: 'string' }, 'false-wake': { type: 'boolean' } },
  allowPositionals: true,
  async run(args, io) {
    const id = singlePositional(args, 'recording id');
    if (args.values['false-wake'] !== true) throw new EarshotError('BAD_ARGUMENT', '--false-wake is required (earshot recordings flag ID --false-wake)', { details: { field: '--false-wake' } });
    return setFalseWake(args, io, id, true);
  },
};

const recordingsUnflag: Command = {
  path: ['recordings', 'unflag'],
  summary: 'remove the false-wake mark from a recording; retrains your verifier without it',
  usage: 'earshot recordings unflag RECORDING_ID [--owner ID] [--json]',
  help: "Acts for the active owner (or --owner): another owner's recording cannot be changed.",
  options: { owner: { type: 'string' } },
  allowPositionals: true,
  async run(args, io) {
    return setFalseWake(args, io, singlePositional(args, 'recording id'), false);
  },
};

async function setFalseWake(args: ParsedArgs, io: CommandIO, id: string, falseWake: boolean): Promise<number> {
  return withApp(args, io, async (app) => {
    const ownerId = await app.resolveOwner(ownerOption(args));
    if (falseWake) writeLine(io.stderr, 'marking and retraining the verifier if there is one…');
    const { retrained } = await app.flagRecording(ownerId, id, falseWake, { source: CLI_SOURCE });
    if (json(args)) out(io, { recordingId: id, falseWake, verifierRetrained: retrained });
    else {
      writeLine(io.stdout, falseWake ? `flagged ${id} as a false wake` : `removed the false-wake mark from ${id}`);
      if (retrained) writeLine(io.stdout, `retrained the verifier for its wake word (earshot enroll status shows it)`);
    }
    return 0;
  });
}

const exportCmd: Command = {
  path: ['export'],
  summary: "access request: write one owner's recordings, consent history and audit events as a bundle",
  usage: 'earshot export --owner ID --out PATH [--passphrase-file FILE] [--json]',
  help: [
    'PATH ending in .tar writes a tar archive; any other PATH a directory. With --passphrase-file the bundle is an',
    'encrypted tar (scrypt + AES-256-GCM); open it with `earshot export open`. Every recording is verified to belong to',
    'the owner while the bundle is built; any failure aborts, writes nothing and records an incident in the audit log.',
    'The bundle format is described in docs/export-format.md.',
  ].join('\n'),
  options: { owner: { type: 'string' }, out: { type: 'string' }, 'passphrase-file': { type: 'string' } },
  async run(args, io) {
    const ownerId = requiredOwnerOption(args);
    const outPath = requiredOption(args, 'out');
    const pf = stringOption(args, 'passphrase-file');
    const passphrase = pf !== undefined ? await readPassphraseFile(pf) : undefined;
    return withApp(args, io, async (app) => {
      const progress = progressReporter(io, 'export');
      try {
        const r = await app.exportOwner({
          ownerId,
          source: CLI_SOURCE,
          out: outPath,
          ...(passphrase !== undefined ? { passphrase } : {}),
          onProgress: (p) => progress.update(p.done, p.total),
        });
        progress.end();
        if (json(args)) out(io, r);
        else writeLine(io.stdout, `exported ${r.recordings} recordings${r.verifiers > 0 ? ` and ${r.verifiers} verifiers` : ''} of ${r.ownerId} to ${r.out} (${r.format}, sha256 ${r.sha256})`);
        return 0;
      } catch (e) {
        progress.end();
        throw e;
      }
    });
  },
};

const exportOpen: Command = {
  path: ['export', 'open'],
  summary: 'decrypt an encrypted export bundle into a .tar (verifies it before writing the output)',
  usage: 'earshot export open --in BUNDLE --out FILE.tar --passphrase-file FILE',
  options: { in: { type: 'string' }, out: { type: 'string' }, 'passphrase-file': { type: 'string' } },
  async run(args, io) {
    const pass = await readPassphraseFile(requiredOption(args, 'passphrase-file'));
    const outFile = requiredOption(args, 'out');
    await decryptBundleFile(requiredOption(args, 'in'), outFile, pass);
    if (json(args)) out(io, { out: outFile });
    else writeLine(io.stdout, `decrypted to ${outFile} (extract with: tar -xf ${outFile})`);
    return 0;
  },
};

const erase: Command = {
  path: ['erase'],
  summary: "crypto-shred an owner: destroy their key, delete their rows, checkpoint the WAL and VACUUM",
  usage: 'earshot erase --owner ID --yes [--json]',
  options: { owner: { type: 'string' }, yes: { type: 'boolean' } },
  async run(args, io) {
    const ownerId = requiredOwnerOption(args);
    requireYes(args, 'erasure');
    return withApp(args, io, async (app) => {
      const r = await app.eraseOwner(ownerId, { source: CLI_SOURCE });
      if (json(args)) out(io, r);
      else writeLine(io.stdout, `erased ${ownerId}: ${r.recordings} recordings, ${r.consentEvents} consent events, ${r.verifiers} verifiers`);
      return 0;
    });
  },
};

const auditVerify: Command = {
  path: ['audit', 'verify'],
  summary: 'verify the audit hash chain, its sealed head and the head kept in the key store (finds edits, deletions, reordering, truncation, rollback)',
  usage: 'earshot audit verify [--head HASH[:SEQ]] [--json]',
  help: [
    'Exit 0 when the chain is intact, 1 when it is not (each problem is listed).',
    'The log must also reach the head kept in the key file: an older copy of the database put back fails (rolled-back).',
    '  --head HASH[:SEQ]   also check against a head published elsewhere (earshot audit head, the device status):',
    '                      the log must contain that entry (at SEQ when given)',
  ].join('\n'),
  options: { head: { type: 'string' } },
  async run(args, io) {
    const headText = args.values['head'];
    const publishedHead = typeof headText === 'string' ? parseExpectedHead(headText) : undefined;
    if (typeof headText === 'string' && publishedHead === undefined) {
      throw new EarshotError('BAD_ARGUMENT', '--head must be HASH or HASH:SEQ (64 hex digits, optional entry number), as printed by `earshot audit head`');
    }
    return withApp(args, io, async (app) => {
      const r = await app.verifyAudit(publishedHead ? { publishedHead } : {});
      if (json(args)) out(io, r);
      else {
        writeLine(io.stdout, `${r.ok ? 'OK' : 'BROKEN'}: ${r.entries} entries, head ${r.head} (#${r.lastSeq})`);
        for (const p of r.problems) writeLine(io.stdout, `  ${p.kind} at #${p.seq}: ${p.message}`);
      }
      if (!r.ok) {
        if (!json(args)) writeLine(io.stderr, `earshot audit verify: AUDIT_BROKEN: ${r.problems.length} problem(s) found`);
      }
      return r.ok ? 0 : 1;
    });
  },
};

const auditLog: Command = {
  path: ['audit', 'log'],
  summary: 'print the audit log (personal parts decrypted where the owner still exists)',
  usage: 'earshot audit log [--owner ID] [--json]',
  help: 'With --json: one JSON object per line.',
  options: { owner: { type: 'string' } },
  async run(args, io) {
    return withApp(args, io, async (app) => {
      const owner = ownerOption(args);
      const entries = await app.auditLog(owner !== undefined ? { ownerId: owner } : {});
      for (const e of entries) {
        if (json(args)) out(io, e);
        else {
          const parts = [`#${e.seq}`, iso(e.at), e.type];
          if (e.ownerId) parts.push(`owner=${e.ownerId}`);
          if (e.recordingId) parts.push(`recording=${e.recordingId}`);
          if (e.detail) parts.push(JSON.stringify(e.detail));
          if (e.personal) parts.push(e.personal === 'redacted' ? '[personal: redacted]' : JSON.stringify(e.personal));
          writeLine(io.stdout, parts.join('  '));
        }
      }
      return 0;
    });
  },
};

const auditHead: Command = {
  path: ['audit', 'head'],
  summary: 'print the sealed audit head (seq and hash) for publishing off-device',
  usage: 'earshot audit head [--json]',
  options: {},
  async run(args, io) {
    return withApp(args, io, async (app) => {
      const h = await app.auditHead();
      if (json(args)) out(io, h);
      else writeLine(io.stdout, `${h.seq} ${h.head}`);
      return 0;
    });
  },
};

const keysRotate: Command = {
  path: ['keys', 'rotate'],
  summary: 're-wrap every data key under a new device key (crash-safe; recordings are not rewritten)',
  usage: 'earshot keys rotate [--json]',
  options: {},
  async run(args, io) {
    return withApp(args, io, async (app) => {
      const r = await app.rotateKeys({ source: CLI_SOURCE });
      if (json(args)) out(io, r);
      else writeLine(io.stdout, `rotated device key ${r.from} -> ${r.to} (${r.owners} owner keys re-wrapped)`);
      return 0;
    });
  },
};

const retentionSet: Command = {
  path: ['retention', 'set'],
  summary: "set an owner's retention in days (0 = delete right after a confirmed upload)",
  usage: 'earshot retention set --owner ID --days N [--json]',
  options: { owner: { type: 'string' }, days: { type: 'string' } },
  async run(args, io) {
    const ownerId = requiredOwnerOption(args);
    const days = Number(requiredOption(args, 'days'));
    return withApp(args, io, async (app) => {
      await app.setRetention(ownerId, days, { source: CLI_SOURCE });
      if (json(args)) out(io, { ownerId, retentionDays: days });
      else writeLine(io.stdout, `retention of ${ownerId}: ${days} days`);
      return 0;
    });
  },
};

const retentionSweep: Command = {
  path: ['retention', 'sweep'],
  summary: 'apply every owner\'s retention now (the daemon does this at start and hourly)',
  usage: 'earshot retention sweep [--json]',
  options: {},
  async run(args, io) {
    return withApp(args, io, async (app) => {
      const r = await app.sweepRetention({ source: CLI_SOURCE });
      if (json(args)) out(io, r);
      else writeLine(io.stdout, `deleted ${r.reduce((s, x) => s + x.deleted, 0)} recordings`);
      return 0;
    });
  },
};

const repair: Command = {
  path: ['repair'],
  summary: 'list audio that start-up moved to quarantine (it did not match the metadata), and restore or discard it',
  usage: 'earshot repair [--restore ID | --discard ID --yes] [--json]',
  help: [
    'Nothing is deleted on a hunch: audio whose recording row names another owner, an owner file whose erasure the',
    'audit log does not show, or anything found while the log does not verify, is moved aside still sealed.',
    '  (no option)     list what is in quarantine, with the reason',
    '  --restore ID    put it back where the metadata now says it belongs (it opens only if it really is that owner\'s)',
    '  --discard ID    delete it for good (needs --yes)',
  ].join('\n'),
  options: { restore: { type: 'string' }, discard: { type: 'string' }, yes: { type: 'boolean' } },
  async run(args, io) {
    const restore = stringOption(args, 'restore');
    const discard = stringOption(args, 'discard');
    if (restore !== undefined && discard !== undefined) throw new EarshotError('BAD_ARGUMENT', '--restore and --discard exclude each other');
    if (discard !== undefined) requireYes(args, 'discarding quarantined audio');
    return withApp(args, io, async (app) => {
      if (restore !== undefined) {
        const r = await app.restoreQuarantined(restore, { source: CLI_SOURCE });
        if (json(args)) out(io, { restored: restore, ...r });
        else writeLine(io.stdout, `restored ${restore} to owner ${r.restoredTo}`);
        return 0;
      }
      if (discard !== undefined) {
        await app.discardQuarantined(discard, { source: CLI_SOURCE });
        if (json(args)) out(io, { discarded: discard });
        else writeLine(io.stdout, `discarded ${discard}`);
        return 0;
      }
      const items = await app.listQuarantine();
      if (json(args)) out(io, items);
      else if (items.length === 0) writeLine(io.stdout, 'nothing in quarantine');
      else
        for (const q of items)
          writeLine(io.stdout, `${q.id}  ${iso(q.at)}  ${q.kind}${q.recordingId ? ` ${q.recordingId}` : ''} (found in ${q.foundInOwnerFile}'s file): ${q.reason}`);
      return 0;
    });
  },
};

export const commands: Command[] = [
  init,
  ownersAdd,
  ownersList,
  ownersUse,
  ownersTransfer,
  recordingsList,
  recordingsPlay,
  recordingsDelete,
  recordingsFlag,
  recordingsUnflag,
  exportCmd,
  exportOpen,
  erase,
  auditVerify,
  auditLog,
  auditHead,
  keysRotate,
  retentionSet,
  retentionSweep,
  repair,
];
