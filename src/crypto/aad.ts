/**
 * Associated data for every sealed item. Fields are length-prefixed (not joined with a separator) so no
 * field value can be crafted to shift into the next one, and each kind of item has its own label so a blob
 * cannot be replayed into another column (audio ↔ metadata ↔ owner profile ↔ audit).
 */
export function encodeAad(label: string, fields: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of [label, ...fields]) {
    const b = Buffer.from(String(f), 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/** What binds a recording's sealed columns to its row (design §4.2). */
export interface RecordingBinding {
  recordingId: string;
  ownerId: string;
  deviceId: string;
  createdAt: number;
  keyVersion: number;
}

export function recordingAad(part: 'audio' | 'meta', b: RecordingBinding): Buffer {
  return encodeAad(`earshot/recording/${part}/v1`, [b.recordingId, b.ownerId, b.deviceId, b.createdAt, b.keyVersion]);
}

export function dataKeyWrapAad(ownerId: string, keyVersion: number): Buffer {
  return encodeAad('earshot/owner-data-key/v1', [ownerId, keyVersion]);
}

export function ownerProfileAad(ownerId: string, keyVersion: number): Buffer {
  return encodeAad('earshot/owner-profile/v1', [ownerId, keyVersion]);
}

export function auditPersonalAad(seq: number, ownerId: string, keyVersion: number): Buffer {
  return encodeAad('earshot/audit-personal/v1', [seq, ownerId, keyVersion]);
}

export function deviceKeyWrapAad(kekId: string): Buffer {
  return encodeAad('earshot/device-data-key/v1', [kekId]);
}

export function auditAnchorAad(): Buffer {
  return encodeAad('earshot/audit-anchor/v1', []);
}
