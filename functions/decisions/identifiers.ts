/**
 * Which identifiers a decide/track request carries, in resolution order: the body's `identifiers`
 * map plus `userId` (as `user_id`), ordered by identifier priority (IDENTITY_PRIORITY; unlisted
 * types after, alphabetically). When no profile is known, the request is decided with its best
 * identifier: `user_id` when given, else the highest-priority one.
 */
import type { Identifier } from '../identity/model';
import { compareByPriority, type IdentityRules } from '../identity/rules';

export class IdentifierConflictError extends Error {
  override name = 'IdentifierConflictError';
}

export function requestIdentifiers(
  userId: string | undefined,
  identifiers: Record<string, string> | undefined,
  rules: IdentityRules,
): Identifier[] {
  const list: Identifier[] = [];
  for (const [type, value] of Object.entries(identifiers ?? {})) {
    if (value.trim() === '') continue;
    list.push({ type: type.trim().toLowerCase(), value });
  }
  if (userId !== undefined && userId !== '') {
    const given = list.find((i) => i.type === 'user_id');
    if (given && given.value !== userId) {
      throw new IdentifierConflictError('userId and identifiers.user_id differ; send one of them');
    }
    if (!given) list.push({ type: 'user_id', value: userId });
  }
  return list.sort((a, b) => compareByPriority(rules, a, b));
}

/** The identifier to decide with when no profile is known (the list is in priority order). */
export function fallbackIdentifier(ordered: readonly Identifier[]): Identifier | undefined {
  return ordered.find((i) => i.type === 'user_id') ?? ordered[0];
}
