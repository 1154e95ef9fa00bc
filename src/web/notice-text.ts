/**
 * Plain sentences for notices. Built only from the incident's kind and fixed wording: an incident's free-text
 * reason can name recording or owner ids (possibly another owner's), so it is never shown.
 */
export interface NoticeSource {
  type: string;
  /** Filed under this owner (false: device-wide). */
  own: boolean;
  detail: Record<string, unknown> | null;
}

export function noticeKind(n: NoticeSource): string {
  if (n.type === 'config.refused') return 'fleet-refused';
  const k = n.detail?.['kind'];
  return typeof k === 'string' ? k : 'incident';
}

export function noticeMessage(n: NoticeSource): string {
  switch (noticeKind(n)) {
    case 'export-aborted':
      return 'An export of your data was stopped because a check failed. Nothing was written. Try again; if it keeps failing, the device needs attention.';
    case 'integrity':
      return n.own
        ? 'One of your recordings failed its integrity check while it was read: it may have been tampered with. It was not played or sent.'
        : 'A stored record on this speaker failed its integrity check while it was read. It was not played or sent.';
    case 'audit-tail-mismatch':
      return "The speaker's audit log does not end where it should: entries were removed or added outside Earshot.";
    case 'pairing-lockout': {
      const minutes = typeof n.detail?.['lockedForMs'] === 'number' ? Math.round((n.detail['lockedForMs'] as number) / 60000) : 15;
      return `Someone tried several wrong pairing links for this speaker's page. Pairing from that browser is blocked for ${minutes} minutes.`;
    }
    case 'fleet-refused': {
      const reason = typeof n.detail?.['reason'] === 'string' ? ` (${n.detail['reason'] as string})` : '';
      return `A fleet configuration document sent to this speaker was refused${reason}. Your settings did not change.`;
    }
    default:
      return 'Something unusual happened on this speaker that concerns your data. See Activity for details.';
  }
}
