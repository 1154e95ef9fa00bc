/** Retention rules as pure functions: what an owner's retention setting means at a given time. */
export const DAY_MS = 86_400_000;

export type RetentionRule = { uploadedOnly: true } | { createdBefore: number };

/** 0 days = delete right after a confirmed upload; N days = delete recordings captured more than N days ago. */
export function retentionRule(retentionDays: number, now: number): RetentionRule {
  if (retentionDays === 0) return { uploadedOnly: true };
  return { createdBefore: now - retentionDays * DAY_MS };
}
