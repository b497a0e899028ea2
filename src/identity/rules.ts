/**
 * Identity resolution rules, modelled on Segment Unify: blocked values never link profiles,
 * per-type limits cap how many values of a type one profile holds, and priority decides which
 * identifier of an event is dropped first when a merge would break a limit.
 */
import { type Identifier, identifierKey } from './identifiers';

export interface IdentityRules {
  blocked: readonly RegExp[];
  limits: ReadonlyMap<string, number>;
  defaultLimit: number;
  /** Types from highest to lowest priority; unlisted types rank after them, alphabetically. */
  priority: readonly string[];
  /** Types whose values are personal data (email, phone): never an experiment id, never sent to Optimizely. */
  personalTypes: ReadonlySet<string>;
}

/**
 * Values that show up as hard-coded placeholders in real traffic: all zeros or dashes (the
 * all-zero IDFA), -1, and the words null/undefined/anonymous/unknown/none/test and empty-ish ones.
 */
export const DEFAULT_BLOCKED_VALUES = [
  '^[0-]*$',
  '^-1$',
  '^(null|nil|undefined|anonymous|unknown|none|n/a|test|\\[object object\\])$',
] as const;

export const DEFAULT_LIMITS = 'user_id:1,*:5';

export const DEFAULT_PRIORITY = [
  'user_id',
  'email',
  'ios.id',
  'android.id',
  'ios.idfa',
  'android.idfa',
  'anonymous_id',
] as const;

export function parseLimits(spec: string): { limits: Map<string, number>; defaultLimit: number } {
  const limits = new Map<string, number>();
  let defaultLimit = 5;
  for (const part of spec.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const at = trimmed.lastIndexOf(':');
    const type = trimmed.slice(0, at).trim();
    const n = Number(trimmed.slice(at + 1));
    if (at <= 0 || !Number.isInteger(n) || n < 1) {
      throw new Error(`Invalid identity limit "${trimmed}": expected type:n with n ≥ 1`);
    }
    if (type === '*') defaultLimit = n;
    else limits.set(type, n);
  }
  return { limits, defaultLimit };
}

export const DEFAULT_PERSONAL_TYPES = ['email', 'phone'] as const;

export interface IdentityRuleOptions {
  blocked?: readonly string[];
  limits?: string;
  priority?: readonly string[];
  personalTypes?: readonly string[];
}

export function createIdentityRules(options: IdentityRuleOptions = {}): IdentityRules {
  const blockedPatterns = options.blocked ?? DEFAULT_BLOCKED_VALUES;
  // Case-insensitive so `NULL`, `Anonymous` and `00000000-0000-…` variants are caught alike.
  const blocked = blockedPatterns.map((p) => new RegExp(p, 'i'));
  const { limits, defaultLimit } = parseLimits(options.limits ?? DEFAULT_LIMITS);
  // A profile must never hold two user_ids, whatever the configuration says.
  limits.set('user_id', 1);
  return {
    blocked,
    limits,
    defaultLimit,
    priority: options.priority ?? DEFAULT_PRIORITY,
    personalTypes: new Set(
      (options.personalTypes ?? DEFAULT_PERSONAL_TYPES).map((t) => t.trim().toLowerCase()),
    ),
  };
}

export function isBlocked(rules: IdentityRules, identifier: Identifier): boolean {
  const value = identifier.value.trim();
  return value === '' || rules.blocked.some((re) => re.test(value));
}

export function limitFor(rules: IdentityRules, type: string): number {
  return rules.limits.get(type) ?? rules.defaultLimit;
}

/** Lower is more important. */
export function priorityRank(rules: IdentityRules, type: string): number {
  const at = rules.priority.indexOf(type);
  return at === -1 ? rules.priority.length : at;
}

/** Highest priority first; ties (unlisted types) by type then value, so the order is deterministic. */
export function compareByPriority(rules: IdentityRules, a: Identifier, b: Identifier): number {
  return (
    priorityRank(rules, a.type) - priorityRank(rules, b.type) ||
    (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) ||
    (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)
  );
}

/**
 * Of a known history of identifiers (each with its first sighting), the ones the per-type limits
 * keep when they are linked in the order they were seen: per type, the earliest `limit` (ties by
 * value), and `keep` always (it replaces the latest of its type). What a source that knows the
 * whole history at once (the Profile API, Profiles Sync) links, so no identifier the webhook would
 * have kept is dropped for one it would have refused.
 */
export function keptWithinLimits<T extends Identifier & { firstSeen: number }>(
  rules: IdentityRules,
  identifiers: readonly T[],
  keep?: Identifier,
): T[] {
  const keepKey = keep ? identifierKey(keep) : undefined;
  const byType = new Map<string, T[]>();
  for (const identifier of identifiers) {
    const list = byType.get(identifier.type) ?? [];
    list.push(identifier);
    byType.set(identifier.type, list);
  }
  const kept: T[] = [];
  for (const [type, list] of byType) {
    list.sort((a, b) => a.firstSeen - b.firstSeen || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    const limit = limitFor(rules, type);
    const held = list.find((i) => identifierKey(i) === keepKey);
    const others = list.filter((i) => i !== held);
    kept.push(...(held ? [held, ...others.slice(0, limit - 1)] : others.slice(0, limit)));
  }
  return kept;
}
