/**
 * A TCP "broker" that accepts MQTT connections, answers CONNECT with a CONNACK and then never answers anything
 * again (no PUBACK, SUBACK or PINGRESP): the broker of issue 10 §3 that accepts but never acknowledges.
 * It frames the byte stream just enough to count the packets it receives by type.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface SilentBroker {
  url: string;
  port: number;
  /** Packet type names received, in order, over all connections (CONNECT, PUBLISH, SUBSCRIBE, PINGREQ, DISCONNECT …). */
  received: string[];
  /** Recording PUBLISHes received (topic …/recordings/…). */
  recordingPublishes: string[];
  /** Connections accepted so far, and how many are still open. */
  connections: number;
  open(): number;
  close(): Promise<void>;
}

const TYPES = ['?', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];

/**
 * `holdOpen`: the server never closes its side either (half-open sockets), so a client's graceful end never
 * completes: only destroying the socket ends the connection.
 */
export async function startSilentBroker(opts: { holdOpen?: boolean } = {}): Promise<SilentBroker> {
  const sockets = new Set<Socket>();
  const broker: SilentBroker = {
    url: '',
    port: 0,
    received: [],
    recordingPublishes: [],
    connections: 0,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer({ allowHalfOpen: opts.holdOpen ?? false }, (socket) => {
    broker.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        // Fixed header: type/flags byte, then the remaining length as a variable-length integer.
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < 5 && i < buf.length; i++) {
          len += (buf[i]! & 0x7f) * mul;
          mul *= 128;
          if ((buf[i]! & 0x80) === 0) break;
        }
        if (i >= buf.length || buf.length < i + 1 + len) return;
        const type = TYPES[buf[0]! >> 4] ?? '?';
        const body = buf.subarray(i + 1, i + 1 + len);
        buf = buf.subarray(i + 1 + len);
        broker.received.push(type);
        if (type === 'PUBLISH') {
          const topic = body.subarray(2, 2 + body.readUInt16BE(0)).toString('utf8');
          if (topic.includes('/recordings/')) broker.recordingPublishes.push(topic);
        }
        // MQTT 5 CONNACK: session not present, reason 0x00, no properties. Nothing else is ever answered.
        if (type === 'CONNECT') socket.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00]));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  broker.port = (server.address() as { port: number }).port;
  broker.url = `mqtt://127.0.0.1:${broker.port}`;
  return broker;
}
