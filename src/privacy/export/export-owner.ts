/**
 * Access request (GDPR Art. 15/20): one owner's recordings, consent history and audit events as a bundle.
 *
 * Every recording is opened *as the requester* (their key, associated data naming them) while the bundle is
 * built; the bundle is written to a temporary path and renamed only when complete, audited, and hashed. Any
 * failure deletes the temporary output, records an incident and throws EXPORT_ABORTED: there is never a
 * partial bundle, and never one that holds someone else's recording.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EarshotError, errorMessage, isEarshotError } from '../../core/errors.js';
import type { RecordingStore } from '../../store/recording-store.js';
import { EncryptingSink } from './bundle-cipher.js';
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, type ExportManifest, type ManifestRecording } from './manifest.js';
import { TarWriter, type ByteSink } from './tar-writer.js';
import { encodeWav } from '../../audio/wav.js';

export type ExportFormat = 'directory' | 'tar' | 'encrypted-tar';

export interface ExportOptions {
  ownerId: string;
  /** A directory path, a `.tar` file, or (with a passphrase) the encrypted file. Must not exist yet. */
  out: string;
  /** Encrypts the bundle (scrypt + AES-256-GCM). */
  passphrase?: string;
  onProgress?: (p: { done: number; total: number }) => void;
  now?: () => number;
  /** Where the request came from ('owner-cli', 'owner-page'), recorded in the export's audit entry. */
  source?: string;
}

export interface ExportResult {
  out: string;
  format: ExportFormat;
  ownerId: string;
  recordings: number;
  bytes: number;
  /** SHA-256 of the bundle file (tar / encrypted); for a directory, of its manifest.json (which hashes every file). */
  sha256: string;
}

export function exportFormatFor(out: string, passphrase: string | undefined): ExportFormat {
  if (passphrase !== undefined) return 'encrypted-tar';
  return out.endsWith('.tar') ? 'tar' : 'directory';
}

class FileSink implements ByteSink {
  bytes = 0;
  private readonly hash = createHash('sha256');
  constructor(private readonly fh: fs.FileHandle) {}
  async write(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    await this.fh.write(chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Where bundle items go: a tar stream or a directory. */
interface BundleWriter {
  add(rel: string, data: Buffer): Promise<void>;
}

export async function exportOwner(store: RecordingStore, opts: ExportOptions): Promise<ExportResult> {
  const now = opts.now ?? Date.now;
  const format = exportFormatFor(opts.out, opts.passphrase);
  if (await fs.stat(opts.out).then(() => true, () => false)) {
    throw new EarshotError('BAD_ARGUMENT', `${opts.out} already exists; an export never overwrites anything`);
  }
  // Unknown owner is bad input, not an incident.
  const owner = await store.owners.get(opts.ownerId);
  const tmp = path.join(path.dirname(path.resolve(opts.out)), `.${path.basename(opts.out)}.partial-${randomBytes(6).toString('hex')}`);

  let fh: fs.FileHandle | undefined;
  try {
    const ids = await store.recordings.ids(owner.id);
    const generatedAt = now();
    const root = `earshot-export-${owner.id}`;
    let sink: FileSink | undefined;
    let enc: EncryptingSink | undefined;
    let writer: BundleWriter;
    let tar: TarWriter | undefined;
    if (format === 'directory') {
      await fs.mkdir(path.join(tmp, 'recordings'), { recursive: true, mode: 0o700 });
      writer = { add: (rel, data) => fs.writeFile(path.join(tmp, rel), data, { mode: 0o600, flag: 'wx' }) };
    } else {
      fh = await fs.open(tmp, 'wx', 0o600);
      sink = new FileSink(fh);
      const inner: ByteSink = format === 'encrypted-tar' ? (enc = await EncryptingSink.start(sink, opts.passphrase!)) : sink;
      const t = new TarWriter(inner, generatedAt);
      tar = t;
      await t.addDirectory(root);
      await t.addDirectory(`${root}/recordings`);
      writer = { add: (rel, data) => t.addFile(`${root}/${rel}`, data) };
    }

    const recordings: ManifestRecording[] = [];
    opts.onProgress?.({ done: 0, total: ids.length });
    for (const [i, id] of ids.entries()) {
      // openAs: the requester's key and AAD naming the requester; anything else throws INTEGRITY.
      const rec = await store.recordings.openAs(id, owner.id);
      if (rec.ownerId !== owner.id) throw new EarshotError('INTEGRITY', `recording ${id} does not name the requester`);
      const wav = encodeWav(rec.pcm);
      const file = `recordings/${id}.wav`;
      await writer.add(file, wav);
      recordings.push({
        id,
        file,
        capturedAt: new Date(rec.startedAt).toISOString(),
        capturedAtMs: rec.startedAt,
        durationMs: rec.durationMs,
        wakeword: rec.wakeword,
        score: rec.score,
        endReason: rec.endReason,
        sampleRate: 16000,
        channels: 1,
        bitsPerSample: 16,
        samples: rec.pcm.length,
        sha256: createHash('sha256').update(wav).digest('hex'),
        bytes: wav.length,
      });
      opts.onProgress?.({ done: i + 1, total: ids.length });
    }

    const consent = (await store.consent.history(owner.id)).map((c) => ({
      purpose: c.purpose,
      action: c.action,
      at: new Date(c.at).toISOString(),
      source: c.source,
      textVersion: c.textVersion,
    }));
    const audit = (await store.audit.list({ ownerId: owner.id })).map((e) => ({
      seq: e.seq,
      at: new Date(e.at).toISOString(),
      type: e.type,
      recordingId: e.recordingId,
      detail: e.detail,
      personal: e.personal,
      hash: e.hash,
    }));
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      formatVersion: EXPORT_FORMAT_VERSION,
      generatedAt: new Date(generatedAt).toISOString(),
      device: { id: store.deviceId },
      owner: {
        id: owner.id,
        name: owner.name,
        createdAt: new Date(owner.createdAt).toISOString(),
        localOnly: owner.localOnly,
        retentionDays: owner.retentionDays,
      },
      recordings,
      consent,
      audit,
      auditHead: await store.audit.head(),
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
    await writer.add('manifest.json', manifestBytes);

    let sha256: string;
    let bytes: number;
    if (tar && sink && fh) {
      await tar.finish();
      if (enc) await enc.finish();
      await fh.sync();
      await fh.close();
      fh = undefined;
      sha256 = sink.digest();
      bytes = sink.bytes;
    } else {
      sha256 = createHash('sha256').update(manifestBytes).digest('hex');
      bytes = manifestBytes.length + recordings.reduce((s, r) => s + r.bytes, 0);
    }
    // Audit before the bundle appears: an export that exists was always logged with its hash.
    await store.audit.append({
      type: 'export.created',
      ownerId: owner.id,
      detail: { recordings: recordings.length, sha256, format, bytes, ...(opts.source !== undefined ? { source: opts.source } : {}) },
    });
    await fs.rename(tmp, opts.out);
    return { out: opts.out, format, ownerId: owner.id, recordings: recordings.length, bytes, sha256 };
  } catch (e) {
    // The original failure is what the caller needs; a close error on the discarded temp file is secondary.
    if (fh) await fh.close().catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true });
    await store.recordIncident({
      kind: 'export-aborted',
      reason: isEarshotError(e) ? e.code : 'INTERNAL',
    }, owner.id);
    throw new EarshotError('EXPORT_ABORTED', `export of owner ${owner.id} aborted, nothing was written: ${errorMessage(e)}`, { cause: e });
  }
}
