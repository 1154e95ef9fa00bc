/** Ed25519 fleet signing keys (node:crypto): generation, loading, and the key id hint. */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EarshotError } from '../core/index.js';

export interface FleetKeyPair {
  /** SPKI PEM: pin this in every device's config (fleet.publicKeys). */
  publicKeyPem: string;
  /** PKCS#8 PEM: keep offline; it signs fleet documents. */
  privateKeyPem: string;
  keyId: string;
}

export function generateFleetKeyPair(): FleetKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/** First 16 hex digits of SHA-256 over the public key's SPKI DER. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function loadFleetPrivateKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new EarshotError('BAD_ARGUMENT', 'the signing key is not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new EarshotError('BAD_ARGUMENT', `the signing key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  return key;
}

/** Pinned public keys; config loading has already refused anything that is not Ed25519 SPKI PEM. */
export function loadFleetPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new EarshotError('CONFIG_INVALID', 'fleet.publicKeys: an entry is not a PEM public key');
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    throw new EarshotError('CONFIG_INVALID', 'fleet.publicKeys: an entry is not an Ed25519 public key');
  }
  return key;
}
