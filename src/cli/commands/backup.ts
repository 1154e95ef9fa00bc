/**
 * `earshot backup` and `earshot restore`: passphrase-encrypted backups that never contain the device key,
 * and restores that re-apply every erasure made since the backup (see src/backup).
 */
import { resolveDeviceId } from '../../config/index.js';
import { createLogger } from '../../core/index.js';
import { EarshotError } from '../../core/index.js';
import { systemClock } from '../../core/index.js';
import { createBackup, restoreBackup } from '../../backup/index.js';
import { InstanceLock } from '../../daemon/index.js';
import { readPassphraseFile } from '../../privacy/index.js';
import { FileKeyStore } from '../../store/index.js';
import { requiredOption, writeLine, type Command } from '../command.js';
import { commandConfig, withApp } from '../command-context.js';

const backup: Command = {
  path: ['backup'],
  summary: 'write an encrypted backup of every owner\'s data (never contains the device key)',
  usage: 'earshot backup --out FILE --passphrase-file F [--json]',
  help: [
    'A consistent snapshot of the database and the audio files, its keys re-wrapped under a fresh backup key, the',
    'whole file encrypted under a key derived from the passphrase (scrypt, AES-256-GCM). Without the passphrase it',
    'opens nothing; it does not need this device\'s key file to be restored (a replacement device can restore it).',
    'Back up this file, not the data directory: a copy of the data directory holds device.key, and would bring an',
    'erased owner back.',
    '  --out FILE            the backup file (must not exist; written completely or not at all)',
    '  --passphrase-file F   first line = passphrase (at least 8 characters); keep it apart from the backup',
  ].join('\n'),
  options: { out: { type: 'string' }, 'passphrase-file': { type: 'string' } },
  async run(args, io) {
    const out = requiredOption(args, 'out');
    const passphrase = await readPassphraseFile(requiredOption(args, 'passphrase-file'));
    const config = await commandConfig(args, io);
    const deviceId = await resolveDeviceId(config);
    const keyStore = FileKeyStore.inDataDir(config.dataDir);
    const r = await createBackup({ config, dataDir: config.dataDir, deviceId, keyStore, clock: systemClock }, { out, passphrase });
    // The backup's own existence is audited on the device (head of the snapshot, size; nothing personal).
    await withApp(args, io, (_app, ctx) => ctx.store.audit.append({ type: 'backup.created', detail: { snapshotHeadSeq: r.auditHead.seq, owners: r.owners, bytes: r.bytes } }));
    if (args.values['json'] === true) writeLine(io.stdout, JSON.stringify(r));
    else writeLine(io.stdout, `backup written to ${r.out} (${r.bytes} bytes, ${r.owners} owners, audit head #${r.auditHead.seq})`);
    return 0;
  },
};

const restore: Command = {
  path: ['restore'],
  summary: 'replace this device\'s data with a backup, re-applying every erasure made since it was taken',
  usage: 'earshot restore --in FILE --passphrase-file F --yes [--json]',
  help: [
    'The daemon must be stopped (a running one is DAEMON_RUNNING). The device must be initialised (earshot init): the backup is re-wrapped under this',
    'device\'s key. Every owner erased on this device (the key file keeps their ids, nothing else) is erased from',
    'the backup\'s copy before it replaces anything. The current data is replaced (newer recordings are lost); the',
    'audit log continues from the backup\'s head, with a backup.restored entry naming the head it replaced.',
    '  --in FILE             a file written by earshot backup',
    '  --passphrase-file F   its passphrase',
    '  --yes                 confirm: the current data is replaced',
  ].join('\n'),
  options: { in: { type: 'string' }, 'passphrase-file': { type: 'string' }, yes: { type: 'boolean' } },
  async run(args, io) {
    const input = requiredOption(args, 'in');
    const passphrase = await readPassphraseFile(requiredOption(args, 'passphrase-file'));
    if (args.values['yes'] !== true) throw new EarshotError('BAD_ARGUMENT', 'restore replaces this device\'s data; add --yes to confirm');
    const config = await commandConfig(args, io);
    const deviceId = await resolveDeviceId(config);
    const keyStore = FileKeyStore.inDataDir(config.dataDir);
    if (!(await keyStore.exists())) throw new EarshotError('NOT_INITIALISED', `no key file at ${keyStore.location}; run \`earshot init\` first`);
    const logger = createLogger({ level: config.log.level, out: io.stderr });
    // The daemon's instance lock: a running daemon makes this DAEMON_RUNNING, and none can start mid-restore.
    const lock = await InstanceLock.acquire(config.dataDir, () => ({ restoring: true }));
    let r;
    try {
      r = await restoreBackup({ config, dataDir: config.dataDir, deviceId, keyStore, clock: systemClock, logger }, { in: input, passphrase });
    } finally {
      await lock.release();
    }
    if (args.values['json'] === true) writeLine(io.stdout, JSON.stringify(r));
    else {
      writeLine(io.stdout, `restored ${r.owners} owner(s); audit head now #${r.auditHead.seq}${r.replacedHead ? ` (replaced #${r.replacedHead.seq})` : ''}`);
      if (r.erasedAgain.length > 0) writeLine(io.stdout, `${r.erasedAgain.length} owner(s) erased after the backup was taken were erased again: ${r.erasedAgain.join(', ')}`);
    }
    return 0;
  },
};

export const commands: Command[] = [backup, restore];
