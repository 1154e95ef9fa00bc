/**
 * What the outbox publisher needs from a connection. MqttConnection implements it; the publisher's logic is
 * tested against an in-memory transport as well as real brokers.
 */
import type { RecordingMessage } from './recording-message.js';

export type PublishResult =
  /** PUBACK with a success reason code (0x00, or 0x10 "no matching subscribers"). */
  | { kind: 'acked'; reasonCode: number }
  /** PUBACK with a reason code >= 0x80 (e.g. 0x87 not authorized by the broker ACL). */
  | { kind: 'refused'; reasonCode: number; message: string }
  /** Withdrawn from the client before it was acknowledged (revocation, or the connection dropped). */
  | { kind: 'cancelled'; why: 'purged' | 'connection-lost' }
  /** Any other failure (write error, client closing). */
  | { kind: 'failed'; message: string };

export interface PublishHandle {
  readonly result: Promise<PublishResult>;
  /**
   * Remove the message from the client's outgoing store if it is still there, so it is never (re)sent.
   * Bytes already written to the socket cannot be recalled. Resolves `result` with `cancelled/purged`.
   */
  cancel(): void;
}

/**
 * What `earshot status` says about the broker: no connection; connected and acknowledging; or connected but a
 * publish has waited for its acknowledgement longer than the connection's ack timeout (the broker accepts
 * bytes but answers nothing, e.g. it is overloaded, paused or misbehaving).
 */
export type LinkState = 'not-connected' | 'connected' | 'not-acknowledging';

export interface RecordingTransport {
  /** Connected, session resumed and ready to take publishes. */
  readonly ready: boolean;
  /** Finer than `ready` for status; a transport without it is 'connected' when ready. */
  readonly link?: LinkState;
  /** Called when `link` changes. */
  onLinkChange?(listener: (link: LinkState) => void): () => void;
  publishRecording(msg: RecordingMessage): PublishHandle;
  /** Called with true when the transport becomes ready, false when it goes down. */
  onReadyChange(listener: (ready: boolean) => void): () => void;
}
