import { describe, expect, it } from 'vitest';
import { readRecordingMeta, recordingMessage } from '../../src/uplink/recording-message.js';
import { recordingIdFromTopic, recordingTopic, statusTopic } from '../../src/core/topics.js';
import { makeRecording } from './fakes.js';

describe('recording message', () => {
  const rec = makeRecording('owner-alice-secret', 1_700_000_000_000, 500);
  const msg = recordingMessage('spk-1', rec);

  it('goes to earshot/v1/devices/{deviceId}/recordings/{recordingId}', () => {
    expect(msg.topic).toBe(`earshot/v1/devices/spk-1/recordings/${rec.id}`);
    expect(recordingIdFromTopic(msg.topic)).toBe(rec.id);
  });

  it('carries a playable 16 kHz mono s16 WAV whose samples are the recording', () => {
    const wav = msg.payload;
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.toString('ascii', 8, 12)).toBe('WAVE');
    expect(wav.readUInt16LE(22)).toBe(1);
    expect(wav.readUInt32LE(24)).toBe(16_000);
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.readUInt32LE(40)).toBe(rec.pcm.length * 2);
    expect(wav.length).toBe(44 + rec.pcm.length * 2);
    for (const i of [0, 1, 17, rec.pcm.length - 1]) expect(wav.readInt16LE(44 + 2 * i)).toBe(rec.pcm[i]);
  });

  it('puts content type and metadata in MQTT 5 properties, with the recording id as idempotency key', () => {
    expect(msg.properties.contentType).toBe('audio/wav');
    expect(msg.properties.correlationData.toString()).toBe(rec.id);
    expect(msg.properties.userProperties).toMatchObject({ recordingId: rec.id, wakeword: 'hey_jarvis', sampleRate: '16000', durationMs: '500', startedAt: String(rec.startedAt) });
    expect(readRecordingMeta(msg.properties)?.recordingId).toBe(rec.id);
  });

  it('never names the owner anywhere in the message', () => {
    const everything = JSON.stringify({ t: msg.topic, p: msg.properties }) + msg.payload.toString('latin1');
    expect(everything).not.toContain('owner-alice-secret');
  });

  it('refuses ids that would add topic levels or wildcards', () => {
    expect(() => recordingTopic('spk-1', 'a/b')).toThrow(/topic level/);
    expect(() => recordingTopic('spk+', 'x')).toThrow();
    expect(() => statusTopic('#')).toThrow();
    expect(() => statusTopic('')).toThrow();
  });
});
