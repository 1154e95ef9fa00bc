/**
 * Access request (GDPR Art. 15/20): one owner's recordings (with their wake features), verifiers (with the
 * enrolment features they were trained on), consent history and audit events as a bundle.
 *
 * Every recording is opened *as the requester* (their key, associated data naming them) while the bundle is
 * built in a private staging directory; it is moved into place only when complete, and `export.created` (with
 * its hash) is written only once it is there. Any failure — including a failure to clean up — removes what was
 * written, records an incident and throws EXPORT_ABORTED naming what could not be removed: there is never a
 * partial bundle, and never one that holds someone else's recording.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { encodeWav } from '../audio/index.js';
import { EarshotError, errorMessage, isEarshotError } from '../core/index.js';
import { BundleFile, EXPORT_FORMAT, EXPORT_FORMAT_VERSION, type ExportFormat, type ExportManifest, type ManifestRecording } from '../privacy/index.js';
import type { VerifierEnrolment } from '../core/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { recordIncident } from './incidents.js';
import { getOwner } from './owners.js';

export interface ExportOptions {
  ownerId: string;
  /** A directory path, a `.tar` file, or (with a passphrase) the encrypted file. Must not exist yet. */
  out: string;
  /** Encrypts the bundle (scrypt + AES-256-GCM). */
  passphrase?: string;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** A file of little-endian float32 feature windows in the bundle. */
export interface ManifestFeatures {
  file: string;
  format: 'float32le';
  /** Values per window (the classifier window × 96 embedding values, oldest embedding first). */
  dim: number;
  windows: number;
  bytes: number;
  sha256: string;
}

/** A recording's entry, with its wake features when it has them (embedding values, not audio). */
export type ManifestRecordingWithFeatures = ManifestRecording & { wakeFeatures: ManifestFeatures | null };

/**
 * One of the owner's verifiers: what it was trained on (their enrolment's features, in clip order, then the room
 * background) and the trained model's bytes (src/verifier's encodeVerifierModel format).
 */
export interface ManifestVerifier {
  wakeword: string;
  clips: number;
  cvRecall: number;
  trainedAt: string;
  trainedAtMs: number;
  peakScores: number[];
  falseWakes: number;
  model: { file: string; format: 'earshot-verifier-model'; bytes: number; sha256: string };
  /** Windows per enrolment clip, in the order of `enrolment`'s file. */
  positivesPerClip: number[];
  enrolment: ManifestFeatures;
  background: ManifestFeatures | null;
  /** Windows per enrolment clip of its partial-phrase negatives, in the order of `partialPhrases`' file. */
  partialPhrasesPerClip: number[];
  /** Negatives from the enrolment clips cut part-way through the phrase (null: none, or enrolled before they existed). */
  partialPhrases: ManifestFeatures | null;
}

/** The manifest with what schema 6 added: wake features per recording, and the owner's verifiers. */
export type OwnerExportManifest = Omit<ExportManifest, 'recordings'> & { recordings: ManifestRecordingWithFeatures[]; verifiers: ManifestVerifier[] };

export interface ExportResult {
  out: string;
  format: ExportFormat;
  ownerId: string;
  recordings: number;
  verifiers: number;
  bytes: number;
  /** SHA-256 of the bundle file (tar / encrypted); for a directory, of its manifest.json (which hashes every file). */
  sha256: string;
}

export async function exportOwner(deps: AppDeps, opts: ExportOptions & Origin): Promise<ExportResult> {
  // Unknown owner is bad input, not an incident.
  const owner = await getOwner(deps, opts.ownerId);
  const generatedAt = deps.clock.now();
  const root = `earshot-export-${owner.id}`;
  await BundleFile.assertFree(opts.out);
  let bundle: BundleFile | undefined;
  let committed = false;
  let stagingDir: string | undefined;
  try {
    stagingDir = await deps.exportStaging.create();
    bundle = await BundleFile.create(opts.out, { root, generatedAt, stagingDir, ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}) });
    const ids = await deps.uow.read((tx) => tx.recordings.ids(owner.id));
    // The false-wake marks, opened with the requester's key like the rest of the sealed metadata.
    const falseWake = new Set((await deps.uow.read((tx) => tx.recordings.summaries(owner.id))).filter((r) => r.falseWake).map((r) => r.id));
    const recordings: ManifestRecordingWithFeatures[] = [];
    const addFeatures = async (file: string, windows: Float32Array[]): Promise<ManifestFeatures | null> => {
      if (windows.length === 0) return null;
      const bytes = Buffer.concat(windows.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)));
      await bundle!.add(file, bytes);
      return { file, format: 'float32le', dim: windows[0]!.length, windows: windows.length, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    };
    opts.onProgress?.({ done: 0, total: ids.length });
    for (const [i, id] of ids.entries()) {
      // As the requester: their key and AAD naming them; anything else throws INTEGRITY.
      const rec = await deps.uow.read((tx) => tx.recordings.open(id, owner.id));
      if (rec.ownerId !== owner.id) throw new EarshotError('INTEGRITY', `recording ${id} does not name the requester`);
      const wav = encodeWav(rec.pcm);
      const file = `recordings/${id}.wav`;
      await bundle.add(file, wav);
      const features = await deps.uow.read((tx) => tx.recordings.wakeFeatures(owner.id, id));
      const wakeFeatures = await addFeatures(`recordings/${id}.wake-features.f32`, features ? [features] : []);
      recordings.push({
        id,
        file,
        capturedAt: new Date(rec.startedAt).toISOString(),
        capturedAtMs: rec.startedAt,
        durationMs: rec.durationMs,
        wakeword: rec.wakeword,
        score: rec.score,
        endReason: rec.endReason,
        falseWake: falseWake.has(id),
        sampleRate: 16000,
        channels: 1,
        bitsPerSample: 16,
        samples: rec.pcm.length,
        sha256: createHash('sha256').update(wav).digest('hex'),
        bytes: wav.length,
        wakeFeatures,
      });
      opts.onProgress?.({ done: i + 1, total: ids.length });
    }
    // The verifiers are derived from the owner's voice: their data, handed over with what they were trained on.
    const verifiers: ManifestVerifier[] = [];
    for (const v of await deps.uow.read((tx) => tx.verifiers.list(owner.id))) {
      const enrolment: VerifierEnrolment = (await deps.uow.read((tx) => tx.verifiers.enrolment(owner.id, v.wakeword))) ?? { clips: [], background: [] };
      // Beside manifest.json (the bundle's directories are fixed), one name prefix per wake word.
      const prefix = `verifier-${v.wakeword}`;
      const model = Buffer.from(v.model);
      await bundle.add(`${prefix}.model.bin`, model);
      const positives = await addFeatures(`${prefix}.enrolment.f32`, enrolment.clips.flatMap((c) => c.windows));
      if (positives === null) throw new EarshotError('INTEGRITY', `a verifier of owner ${owner.id} has no enrolment features`);
      verifiers.push({
        wakeword: v.wakeword,
        clips: v.clips,
        cvRecall: v.cvRecall,
        trainedAt: new Date(v.trainedAt).toISOString(),
        trainedAtMs: v.trainedAt,
        peakScores: v.peakScores,
        falseWakes: v.falseWakes,
        model: { file: `${prefix}.model.bin`, format: 'earshot-verifier-model', bytes: model.length, sha256: createHash('sha256').update(model).digest('hex') },
        positivesPerClip: enrolment.clips.map((c) => c.windows.length),
        enrolment: positives,
        background: await addFeatures(`${prefix}.background.f32`, enrolment.background),
        partialPhrasesPerClip: enrolment.clips.map((c) => c.partialPhrases?.length ?? 0),
        partialPhrases: await addFeatures(`${prefix}.partial-phrases.f32`, enrolment.clips.flatMap((c) => c.partialPhrases ?? [])),
      });
    }
    // Claimed wake words and own thresholds: sealed in the profile, opened with the requester's key.
    const wake = await deps.uow.read((tx) => tx.owners.wakeSettings(owner.id));
    const consent = (await deps.uow.read((tx) => tx.consent.history(owner.id))).map((c) => ({
      purpose: c.purpose,
      action: c.action,
      at: new Date(c.at).toISOString(),
      source: c.source,
      textVersion: c.textVersion,
    }));
    // The audit events included must be the chain's own: an entry edited or re-pointed to this owner fails here.
    const chain = await deps.audit.verify();
    if (!chain.ok) {
      const first = chain.problems[0];
      throw new EarshotError('INTEGRITY', `the audit log does not verify (${chain.problems.length} problem(s)${first ? `, first: ${first.kind} at #${first.seq}` : ''}); run earshot audit verify`);
    }
    const audit = (await deps.audit.list({ ownerId: owner.id })).map((e) => ({
      seq: e.seq,
      at: new Date(e.at).toISOString(),
      type: e.type,
      recordingId: e.recordingId,
      detail: e.detail,
      personal: e.personal,
      hash: e.hash,
    }));
    const manifest: OwnerExportManifest = {
      format: EXPORT_FORMAT,
      formatVersion: EXPORT_FORMAT_VERSION,
      generatedAt: new Date(generatedAt).toISOString(),
      device: { id: deps.deviceId },
      owner: {
        id: owner.id,
        name: owner.name,
        createdAt: new Date(owner.createdAt).toISOString(),
        localOnly: owner.localOnly,
        retentionDays: owner.retentionDays,
        wake: { claims: wake.claims, thresholds: wake.thresholds, verifierGates: wake.verifierGates },
      },
      recordings,
      verifiers,
      consent,
      audit,
      auditHead: await deps.audit.head(),
    };
    await bundle.add('manifest.json', Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8'));
    const { sha256, bytes } = await bundle.finish();
    const format = bundle.format;
    await bundle.commit();
    committed = true;
    // Only an export that is in place is logged (with its hash); if logging fails, it is removed again below.
    await deps.uow.run((tx) =>
      tx.audit.append({
        type: 'export.created',
        ownerId: owner.id,
        detail: { recordings: recordings.length, verifiers: verifiers.length, sha256, format, bytes, source: opts.source },
      }),
    );
    await removeStaging(stagingDir);
    return { out: opts.out, format, ownerId: owner.id, recordings: recordings.length, verifiers: verifiers.length, bytes, sha256 };
  } catch (e) {
    const leftovers: string[] = [];
    try {
      await bundle?.abort({ committed });
    } catch (cleanup) {
      leftovers.push(`${committed ? opts.out : 'the staged bundle'} (${errorMessage(cleanup)})`);
    }
    try {
      await removeStaging(stagingDir);
    } catch (cleanup) {
      leftovers.push(`${stagingDir} (${errorMessage(cleanup)})`);
    }
    await recordIncident(deps, { kind: 'export-aborted', reason: isEarshotError(e) ? e.code : 'INTERNAL', cleanupFailed: leftovers.length > 0 }, owner.id);
    const outcome = leftovers.length === 0 ? 'nothing was written' : `and could not remove ${leftovers.join(', ')}: remove it by hand`;
    throw new EarshotError('EXPORT_ABORTED', `export of owner ${owner.id} aborted, ${outcome}: ${errorMessage(e)}`, { cause: e });
  }
}

async function removeStaging(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true });
}
