/**
 * What a recording looks like on the wire. Pure: Recording in, MQTT 5 publish out.
 *
 * Decisions (documented in the uplink README section):
 * - payload: WAV, content type `audio/wav` in the MQTT 5 contentType property;
 * - metadata in userProperties: recordingId, wakeword, score, startedAt (epoch ms), durationMs, sampleRate,
 *   endReason — all non-personal;
 * - the recording id is the idempotency key: it ends the topic, is in correlationData and in userProperties,
 *   so a subscriber deduplicates QoS 1 redeliveries by it;
 * - no owner id or name anywhere in the message: the cloud answers the device (its id is in the topic);
 *   which owner spoke is resolved on the device, so the broker and cloud never learn household structure.
 */
import { SAMPLE_RATE } from '../core/index.js';
import type { Recording } from '../core/index.js';
import { recordingTopic } from '../core/index.js';
import { encodeWav, RECORDING_CONTENT_TYPE } from './wav-payload.js';

export interface RecordingMessage {
  topic: string;
  payload: Buffer;
  properties: {
    contentType: string;
    correlationData: Buffer;
    payloadFormatIndicator: boolean;
    userProperties: Record<string, string>;
  };
}

export function recordingMessage(deviceId: string, rec: Recording): RecordingMessage {
  return {
    topic: recordingTopic(deviceId, rec.id),
    payload: encodeWav(rec.pcm, SAMPLE_RATE),
    properties: {
      contentType: RECORDING_CONTENT_TYPE,
      correlationData: Buffer.from(rec.id, 'utf8'),
      // false = unspecified bytes (binary audio), not UTF-8 text.
      payloadFormatIndicator: false,
      userProperties: {
        recordingId: rec.id,
        wakeword: rec.wakeword,
        score: rec.score.toFixed(4),
        startedAt: String(rec.startedAt),
        durationMs: String(Math.round(rec.durationMs)),
        sampleRate: String(SAMPLE_RATE),
        endReason: rec.endReason,
      },
    },
  };
}

/** The metadata a cloud subscriber reads back from a recording message. */
export interface ReceivedRecordingMeta {
  recordingId: string;
  wakeword: string | undefined;
  contentType: string | undefined;
}

export function readRecordingMeta(properties: { contentType?: string; correlationData?: Buffer; userProperties?: Record<string, string | string[]> } | undefined): ReceivedRecordingMeta | undefined {
  const corr = properties?.correlationData;
  const up = properties?.userProperties ?? {};
  const id = corr ? corr.toString('utf8') : typeof up['recordingId'] === 'string' ? up['recordingId'] : undefined;
  if (!id) return undefined;
  const ww = up['wakeword'];
  return { recordingId: id, wakeword: typeof ww === 'string' ? ww : undefined, contentType: properties?.contentType };
}
