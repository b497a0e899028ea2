/**
 * Which identifiers a decide/track request carries, in resolution order: the body's `identifiers`
 * map plus `userId` (as `user_id`), normalised like every identifier (identity/identifiers.ts) and
 * ordered by identifier priority (IDENTITY_PRIORITY; unlisted types after, alphabetically): the
 * identity cache answers for the first one it knows. Someone it does not know is decided on the
 * experiment id of these identifiers (identity/experiment-id.ts).
 */

import { type Identifier, normalizeIdentifier } from '../identity/identifiers';
import { compareByPriority, type IdentityRules } from '../identity/rules';
import { IdentifierConflictError } from '../platform/core/errors';

export function requestIdentifiers(
  userId: string | undefined,
  identifiers: Record<string, string> | undefined,
  rules: IdentityRules,
): Identifier[] {
  const list: Identifier[] = [];
  for (const [type, value] of Object.entries(identifiers ?? {})) {
    const identifier = normalizeIdentifier({ type, value });
    if (identifier.value !== '') list.push(identifier);
  }
  if (userId !== undefined && userId.trim() !== '') {
    const given = list.find((i) => i.type === 'user_id');
    const user = normalizeIdentifier({ type: 'user_id', value: userId });
    if (given && given.value !== user.value) {
      throw new IdentifierConflictError('userId and identifiers.user_id differ; send one of them');
    }
    if (!given) list.push(user);
  }
  return list.sort((a, b) => compareByPriority(rules, a, b));
}
