/**
 * The page's TLS certificate: a self-signed device certificate made with the system's `openssl` (an ECDSA
 * P-256 key, SANs for the device's names and addresses), or a configured certificate and key. The owner
 * compares the SHA-256 fingerprint printed by `earshot web pair` with what the browser shows.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EarshotError, errorMessage } from '../core/index.js';
import { isLoopback } from './request-guard.js';

const run = promisify(execFile);

export const CERT_FILE_NAME = 'web-cert.pem';
export const KEY_FILE_NAME = 'web-key.pem';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint as browsers show it (AA:BB:…). */
  fingerprint256: string;
  certFile: string;
  validTo: string;
}

export function deviceCertPaths(dataDir: string): { certFile: string; keyFile: string } {
  return { certFile: path.join(dataDir, CERT_FILE_NAME), keyFile: path.join(dataDir, KEY_FILE_NAME) };
}

/** Names and addresses the device is reached under on the home network. */
export function deviceNames(): { dns: string[]; ips: string[] } {
  const host = os.hostname();
  const dns = [...new Set(['localhost', host, `${host}.local`].filter((h) => /^[A-Za-z0-9.-]+$/.test(h)))];
  const ips = ['127.0.0.1', '::1'];
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!ips.includes(a.address)) ips.push(a.address.split('%')[0]!);
  return { dns, ips };
}

/** Makes the device certificate and key (0600) in `dataDir`; refuses to overwrite unless `replace`. */
export async function makeDeviceCert(dataDir: string, opts: { replace?: boolean; days?: number; extraNames?: string[] } = {}): Promise<TlsMaterial> {
  const { certFile, keyFile } = deviceCertPaths(dataDir);
  if (!opts.replace && (existsSync(certFile) || existsSync(keyFile))) {
    throw new EarshotError('BAD_ARGUMENT', `${certFile} already exists; pass --replace to make a new one (browsers will then show a new fingerprint)`);
  }
  const names = deviceNames();
  for (const n of opts.extraNames ?? []) {
    if (!/^[A-Za-z0-9.:-]+$/.test(n)) throw new EarshotError('BAD_ARGUMENT', `--name ${JSON.stringify(n)} is not a host name or address`);
    if (/^[0-9.]+$|:/.test(n)) names.ips.push(n);
    else names.dns.push(n);
  }
  const san = [...names.dns.map((d) => `DNS:${d}`), ...names.ips.map((i) => `IP:${i}`)].join(',');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tmpKey = `${keyFile}.partial`;
  const tmpCert = `${certFile}.partial`;
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', tmpKey, '-out', tmpCert, '-days', String(opts.days ?? 825),
      '-subj', `/CN=${os.hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'earshot'} (Earshot speaker)`,
      '-addext', `subjectAltName=${san}`, '-addext', 'extendedKeyUsage=serverAuth',
    ], { timeout: 30_000 });
  } catch (e) {
    await fs.rm(tmpKey, { force: true });
    await fs.rm(tmpCert, { force: true });
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new EarshotError('WEB_TLS', missing ? 'making the device certificate needs the `openssl` program (apt-get install openssl)' : `openssl could not make the device certificate: ${errorMessage(e)}`);
  }
  await fs.chmod(tmpKey, 0o600);
  await fs.rename(tmpKey, keyFile);
  await fs.rename(tmpCert, certFile);
  return loadTls(certFile, keyFile);
}

/** Reads and checks a certificate and its key; WEB_TLS naming the file that is wrong. */
export async function loadTls(certFile: string, keyFile: string): Promise<TlsMaterial> {
  const read = async (file: string, what: string) => {
    try {
      return await fs.readFile(file, 'utf8');
    } catch (e) {
      throw new EarshotError('WEB_TLS', `the TLS ${what} ${file} cannot be read: ${errorMessage(e)}`);
    }
  };
  const cert = await read(certFile, 'certificate');
  const key = await read(keyFile, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new EarshotError('WEB_TLS', `${certFile} is not a PEM certificate: ${errorMessage(e)}`);
  }
  let keyObj;
  try {
    keyObj = createPrivateKey(key);
  } catch (e) {
    throw new EarshotError('WEB_TLS', `${keyFile} is not a PEM private key: ${errorMessage(e)}`);
  }
  if (!x509.checkPrivateKey(keyObj)) throw new EarshotError('WEB_TLS', `${keyFile} is not the key of the certificate ${certFile}`);
  return { cert, key, fingerprint256: x509.fingerprint256, certFile, validTo: x509.validTo };
}

/**
 * The TLS material the page serves with: a configured certificate and key; else, when TLS is needed (an
 * address beyond loopback, or asked for), the device certificate; else none (plain HTTP on loopback).
 */
export async function pageTls(opts: { host: string; certFile?: string; keyFile?: string; forceTls?: boolean; dataDir: string }): Promise<TlsMaterial | undefined> {
  const cert = opts.certFile || undefined;
  const key = opts.keyFile || undefined;
  if ((cert === undefined) !== (key === undefined)) throw new EarshotError('WEB_TLS', 'a certificate needs its key (and a key its certificate): give both or neither');
  if (cert !== undefined && key !== undefined) return loadTls(cert, key);
  if (!opts.forceTls && isLoopback(opts.host)) return undefined;
  const dev = deviceCertPaths(opts.dataDir);
  if (!existsSync(dev.certFile)) {
    throw new EarshotError(
      'WEB_TLS',
      `listening on ${opts.host} needs TLS, and there is no device certificate at ${dev.certFile}: run \`earshot web cert\` (or give a certificate and key)`,
    );
  }
  return loadTls(dev.certFile, dev.keyFile);
}
