/** Retention rules as pure functions: what an owner's retention setting means at a given time. */
export const DAY_MS = 86_400_000;

export type RetentionRule = { uploadedOnly: true } | { createdBefore: number };

/** 0 days = delete right after a confirmed upload; N days = delete recordings captured more than N days ago. */
export function retentionRule(retentionDays: number, now: number): RetentionRule {
  if (retentionDays === 0) return { uploadedOnly: true };
  return { createdBefore: now - retentionDays * DAY_MS };
}

/** Whether a recording must go under a rule (the SQL in the store implements the same predicate). */
export function isExpired(rule: RetentionRule, rec: { createdAt: number; uploadedAt: number | null }): boolean {
  return 'uploadedOnly' in rule ? rec.uploadedAt !== null : rec.createdAt < rule.createdBefore;
}
