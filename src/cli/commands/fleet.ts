/** `earshot fleet keygen|sign|push`: tools for the fleet manager (they run on an operator's machine). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EarshotError } from '../../core/index.js';
import { findForbiddenKey, parseJson } from '../../config/index.js';
import { generateFleetKeyPair, loadFleetPrivateKey } from '../../fleet/index.js';
import { signFleetDocument } from '../../fleet/index.js';
import { pushFleetDocument } from '../../fleet/index.js';
import { topicForTarget } from '../../fleet/index.js';
import { requiredOption, stringOption, writeLine, type Command, type ParsedArgs } from '../command.js';



async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new EarshotError('BAD_ARGUMENT', `${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

const keygen: Command = {
  path: ['fleet', 'keygen'],
  summary: 'create an Ed25519 key pair for signing fleet config',
  usage: 'earshot fleet keygen --out DIR [--json]',
  help: [
    'Writes DIR/fleet-private.pem (mode 0600; keep it offline) and DIR/fleet-public.pem (pin it on devices in',
    'fleet.publicKeys). Existing files are never overwritten.',
  ].join('\n'),
  options: { out: { type: 'string' } },
  async run(args, io) {
    const dir = resolve(requiredOption(args, 'out'));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const kp = generateFleetKeyPair();
    const privatePath = join(dir, 'fleet-private.pem');
    const publicPath = join(dir, 'fleet-public.pem');
    try {
      await writeFile(privatePath, kp.privateKeyPem, { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new EarshotError('BAD_ARGUMENT', `${privatePath} exists; refusing to overwrite a signing key`);
      throw new EarshotError('STORE_IO', `cannot write ${privatePath}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    await writeFile(publicPath, kp.publicKeyPem, { mode: 0o644 });
    if (args.values['json'] === true) writeLine(io.stdout, JSON.stringify({ keyId: kp.keyId, privateKey: privatePath, publicKey: publicPath }));
    else {
      writeLine(io.stdout, `key ${kp.keyId}`);
      writeLine(io.stdout, `  private: ${privatePath} (keep offline)`);
      writeLine(io.stdout, `  public:  ${publicPath} (pin in fleet.publicKeys of every device)`);
    }
    return 0;
  },
};

const sign: Command = {
  path: ['fleet', 'sign'],
  summary: 'sign a fleet config document',
  usage: 'earshot fleet sign --key PRIVATE.pem --in config.json --target fleet|group:NAME|device:ID --version N [--expires ISO] [--out signed.json] [--json]',
  help: [
    'config.json holds only what device-config/fleet-config.schema.json allows (privacy may only tighten;',
    'consent can never appear). --version must grow for each new document of a target. Without --out the',
    'signed document goes to stdout. See device-config/FLEET.md.',
  ].join('\n'),
  options: {
    key: { type: 'string' },
    in: { type: 'string' },
    target: { type: 'string' },
    version: { type: 'string' },
    expires: { type: 'string' },
    out: { type: 'string' },
  },
  async run(args, io) {
    const keyPath = requiredOption(args, 'key');
    const inPath = requiredOption(args, 'in');
    const target = requiredOption(args, 'target');
    const versionText = requiredOption(args, 'version');
    if (!/^[1-9]\d*$/.test(versionText)) throw new EarshotError('BAD_ARGUMENT', '--version: must be an integer >= 1');
    const privateKey = loadFleetPrivateKey(await readInput(keyPath, '--key'));
    const parsed = parseJson((await readInput(inPath, '--in')).toString('utf8'));
    if (!parsed.ok) throw new EarshotError('BAD_ARGUMENT', `${inPath}:${parsed.line}:${parsed.column}: invalid JSON: ${parsed.message}`);
    const forbidden = findForbiddenKey(parsed.value);
    if (forbidden !== undefined) throw new EarshotError('BAD_ARGUMENT', `${inPath}: ${forbidden}: forbidden key`);
    const expires = stringOption(args, 'expires');
    const doc = signFleetDocument(parsed.value, privateKey, {
      target,
      version: Number(versionText),
      ...(expires !== undefined ? { expiresAt: expires } : {}),
    });
    const text = JSON.stringify(doc, null, 2) + '\n';
    const out = stringOption(args, 'out');
    if (out === undefined) {
      io.stdout.write(text);
      return 0;
    }
    await writeFile(out, text);
    const summary = { out: resolve(out), target: doc.payload.target, version: doc.payload.version, topic: topicForTarget(doc.payload.target), keyId: doc.keyId, expiresAt: doc.payload.expiresAt ?? null };
    if (args.values['json'] === true) writeLine(io.stdout, JSON.stringify(summary));
    else writeLine(io.stdout, `signed ${summary.target} v${summary.version} with key ${summary.keyId} → ${summary.out} (topic ${summary.topic})`);
    return 0;
  },
};

const push: Command = {
  path: ['fleet', 'push'],
  summary: 'publish a signed fleet document (retained, QoS 1) and print the PUBACK reason',
  usage: 'earshot fleet push --broker URL [--ca CA.pem --cert CERT.pem --key KEY.pem] [--client-id ID] [--timeout-ms N] [--protocol 5|4] [--json] signed.json',
  help: 'Topic: earshot/v1/fleet/all/config (target fleet), earshot/v1/fleet/NAME/config (group:NAME) or earshot/v1/devices/ID/config (device:ID). Exits 1 when the broker refuses (reason code >= 0x80).',
  options: {
    broker: { type: 'string' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'client-id': { type: 'string' },
    'timeout-ms': { type: 'string' },
    protocol: { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    const broker = requiredOption(args, 'broker');
    if (args.positionals.length !== 1) throw new EarshotError('BAD_ARGUMENT', 'expected exactly one signed document file');
    const file = args.positionals[0] as string;
    const timeout = stringOption(args, 'timeout-ms');
    if (timeout !== undefined && !/^[1-9]\d*$/.test(timeout)) throw new EarshotError('BAD_ARGUMENT', '--timeout-ms: must be a positive integer');
    const ca = stringOption(args, 'ca');
    const cert = stringOption(args, 'cert');
    const key = stringOption(args, 'key');
    const clientId = stringOption(args, 'client-id');
    const protocol = stringOption(args, 'protocol') ?? '5';
    if (protocol !== '4' && protocol !== '5') throw new EarshotError('BAD_ARGUMENT', '--protocol: must be 5 (MQTT 5) or 4 (MQTT 3.1.1, e.g. the embedded demo broker)');
    const r = await pushFleetDocument(await readInput(file, 'document'), {
      brokerUrl: broker,
      ...(ca !== undefined ? { caFile: ca } : {}),
      ...(cert !== undefined ? { certFile: cert } : {}),
      ...(key !== undefined ? { keyFile: key } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(timeout !== undefined ? { timeoutMs: Number(timeout) } : {}),
      protocolVersion: protocol === '4' ? 4 : 5,
    });
    const refused = r.reasonCode >= 0x80;
    const code = `0x${r.reasonCode.toString(16).padStart(2, '0')}`;
    if (args.values['json'] === true) writeLine(io.stdout, JSON.stringify({ ...r, accepted: !refused }));
    if (refused) throw new EarshotError('UPLINK_REFUSED', `the broker refused ${r.target} v${r.version} on ${r.topic}: PUBACK ${code} (${r.reason})`);
    if (args.values['json'] !== true) writeLine(io.stdout, `published ${r.target} v${r.version} on ${r.topic}: PUBACK ${code} (${r.reason})`);
    return 0;
  },
};

export const commands: Command[] = [keygen, sign, push];
