/** An in-memory RecordingTransport: records what the publisher hands over and lets a test answer it. */
import type { RecordingMessage } from '../../src/uplink/recording-message.js';
import type { PublishHandle, PublishResult, RecordingTransport } from '../../src/uplink/transport.js';

export interface FakePublish {
  msg: RecordingMessage;
  settled: boolean;
  cancelled: boolean;
  answer(r: PublishResult): void;
}

export class FakeTransport implements RecordingTransport {
  readonly published: FakePublish[] = [];
  /** When set, every publish is answered on the next tick with this PUBACK reason code. */
  autoAck: number | undefined = 0;
  receiveMaximum: number | undefined;
  private isReady = true;
  private readonly listeners = new Set<(r: boolean) => void>();

  get ready(): boolean {
    return this.isReady;
  }

  setReady(r: boolean): void {
    if (r === this.isReady) return;
    this.isReady = r;
    if (!r) for (const p of this.pending()) p.answer({ kind: 'cancelled', why: 'connection-lost' });
    for (const l of this.listeners) l(r);
  }

  onReadyChange(l: (r: boolean) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  pending(): FakePublish[] {
    return this.published.filter((p) => !p.settled);
  }

  publishRecording(msg: RecordingMessage): PublishHandle {
    let resolve!: (r: PublishResult) => void;
    const result = new Promise<PublishResult>((r) => (resolve = r));
    const p: FakePublish = {
      msg,
      settled: false,
      cancelled: false,
      answer: (r) => {
        if (p.settled) return;
        p.settled = true;
        resolve(r);
      },
    };
    this.published.push(p);
    if (this.autoAck !== undefined) {
      const rc = this.autoAck;
      setImmediate(() => p.answer(rc >= 0x80 ? { kind: 'refused', reasonCode: rc, message: 'Not authorized' } : { kind: 'acked', reasonCode: rc }));
    }
    return {
      result,
      cancel: () => {
        p.cancelled = true;
        p.answer({ kind: 'cancelled', why: 'purged' });
      },
    };
  }

  /** Recording ids of everything handed over, in order. */
  ids(): string[] {
    return this.published.map((p) => p.msg.properties.userProperties['recordingId']!);
  }
}
