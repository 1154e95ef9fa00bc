/**
 * A stand-alone uplink process for the SIGKILL test: opens the SQLite store in EARSHOT_DATA_DIR, connects to
 * the broker and drains the outbox, printing "sent N" lines; exits 0 once the outbox is empty.
 * Bundled by bundle.ts and run with plain node.
 */
import { MqttConnection } from '../../../src/uplink/mqtt-connection.js';
import { OutboxPublisher } from '../../../src/uplink/outbox-publisher.js';
import { childApp } from './child-gate.js';

const env = process.env;
const need = (k: string): string => {
  const v = env[k];
  if (!v) throw new Error(`missing ${k}`);
  return v;
};

const deviceId = need('DEVICE_ID');
const { app, store, close } = await childApp(need('EARSHOT_DATA_DIR'), deviceId);
const conn = new MqttConnection({
  brokerUrl: need('BROKER_URL'),
  deviceId,
  caFile: need('CA_FILE'),
  certFile: need('CERT_FILE'),
  keyFile: need('KEY_FILE'),
  sessionExpirySec: 300,
  keepaliveSec: 10,
  reconnectMinMs: 50,
  reconnectMaxMs: 500,
});
const publisher = new OutboxPublisher({
  deviceId,
  outbox: store.outbox,
  ...app.uplinkPorts(),
  audit: store.audit,
  transport: conn,
  maxInFlight: Number(env['MAX_IN_FLIGHT'] ?? 8),
});
conn.start();
publisher.start();
const timer = setInterval(() => process.stdout.write(`sent ${publisher.progress().sent}\n`), 20);
const drained = await publisher.waitForDrain(60_000);
clearInterval(timer);
process.stdout.write(`sent ${publisher.progress().sent}\n`);
await publisher.stop();
await conn.stop();
await publisher.close();
await close();
process.stdout.write(drained ? 'drained\n' : 'not drained\n');
process.exit(drained ? 0 : 3);
