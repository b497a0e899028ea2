/**
 * What Segment's Profile API says about one person, turned into identity changes that go through the
 * same ingest rules as a webhook event (identity/ingest.ts). Pure: no I/O.
 *
 * - `/external_ids` → the person's identifiers, each with its `created_at` as its first sighting, so
 *   the profile's anchor (and experiment id) is the one the webhook would have chosen from the
 *   events. Per type, the earliest ones up to the identity limits are kept (the ones the webhook
 *   would have linked first), and always the identifier the person was asked for.
 * - `/traits` → traits, each stamped with its `updated_at` when Segment gives it (`verbose=true`),
 *   else with the time it was fetched: the value Segment holds now.
 * - `/links` → accounts, each joined at its `created_at`; the account traits of the most recently
 *   joined one (the primary account, docs/identity-rules.md).
 *
 * Segment documents the answers (docs/profile-api.md) but not every field's type; anything that does
 * not fit is left out, not guessed: an identifier without a date, a nested trait, an id with another
 * encoding. More than MAX_EXTERNAL_IDS entries is not a profile Segment can hold: the answer is
 * refused as malformed.
 */
import { createHash } from 'node:crypto';
import type { ChangeIdentifier, IdentityChange } from '../identity/graph';
import {
  type Identifier,
  identifierKey,
  identifierValueProblem,
  normalizeIdentifier,
  SEGMENT_ID_TYPE,
} from '../identity/identifiers';
import type { TraitValue } from '../identity/model';
import { type IdentityRules, isBlocked, keptWithinLimits } from '../identity/rules';
import { dict, RESERVED_KEYS } from '../platform/core/dict';

/** Segment's hard limit of identifier mappings per profile (product limits): more is malformed. */
export const MAX_EXTERNAL_IDS = 1_000;
/** Segment's `/links` answers at most 20 accounts. */
export const MAX_LINKS = 20;

export interface LearnLimits {
  maxIdentifierBytes: number;
  maxTraits: number;
  maxTraitKeyBytes: number;
  maxTraitValueBytes: number;
}

export interface SightedExternalId extends Identifier {
  firstSeen: number;
}

export interface LearnedTraits {
  values: Record<string, TraitValue>;
  /** When each was last updated (epoch ms). */
  times: Record<string, number>;
}

export interface LearnedAccount {
  id: string;
  joinedAt: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function dateOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const at = Date.parse(value);
  return Number.isFinite(at) ? at : undefined;
}

function isScalar(value: unknown): value is TraitValue {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value);
}

/**
 * `/external_ids` → the person's usable identifiers. `asked` (the identifier looked up) is always
 * kept; per type, the earliest `limit` others. `now` bounds dates (a date in the future is now).
 */
export function learnedIdentifiers(
  body: unknown,
  options: { asked: Identifier; rules: IdentityRules; limits: LearnLimits; now: number },
): Parsed<SightedExternalId[]> {
  if (!isRecord(body) || !Array.isArray(body.data)) return { ok: false };
  if (body.data.length > MAX_EXTERNAL_IDS) return { ok: false };
  const { rules, limits, now } = options;
  const byKey = new Map<string, SightedExternalId>();
  for (const entry of body.data) {
    if (!isRecord(entry)) continue;
    if (entry.collection !== undefined && entry.collection !== null && entry.collection !== 'users') continue;
    if (entry.encoding !== undefined && entry.encoding !== null && entry.encoding !== 'none') continue;
    const rawId = typeof entry.id === 'number' ? String(entry.id) : entry.id;
    if (typeof rawId !== 'string' || typeof entry.type !== 'string') continue;
    const created = dateOf(entry.created_at);
    if (created === undefined) continue;
    const identifier = normalizeIdentifier({ type: entry.type, value: rawId });
    const { type, value } = identifier;
    if (type === '' || type === 'group_id' || type === SEGMENT_ID_TYPE || RESERVED_KEYS.has(type)) continue;
    if (
      identifierValueProblem('type', type, limits.maxIdentifierBytes) ||
      identifierValueProblem('value', value, limits.maxIdentifierBytes) ||
      isBlocked(rules, identifier)
    ) {
      continue;
    }
    const key = identifierKey(identifier);
    const firstSeen = Math.min(created, now);
    const known = byKey.get(key);
    if (!known || firstSeen < known.firstSeen) byKey.set(key, { type, value, firstSeen });
  }
  return {
    ok: true,
    value: keptWithinLimits(rules, [...byKey.values()], normalizeIdentifier(options.asked)),
  };
}

/**
 * `/traits` (users or accounts) → scalar traits: `verbose` objects (`{value, updated_at}`) unwrapped,
 * nested values and keys that break the event limits left out, at most `maxTraits`.
 */
export function learnedTraits(
  body: unknown,
  options: { limits: LearnLimits; fetchedAt: number },
): Parsed<LearnedTraits> {
  if (!isRecord(body) || !isRecord(body.traits)) return { ok: false };
  const { limits, fetchedAt } = options;
  const values = dict<TraitValue>();
  const times = dict<number>();
  for (const [key, raw] of Object.entries(body.traits)) {
    if (Object.keys(values).length >= limits.maxTraits) break;
    if (key === '' || RESERVED_KEYS.has(key) || Buffer.byteLength(key, 'utf8') > limits.maxTraitKeyBytes)
      continue;
    let value: unknown = raw;
    let at = fetchedAt;
    if (isRecord(raw) && 'value' in raw) {
      value = raw.value;
      at = Math.min(dateOf(raw.updated_at) ?? fetchedAt, fetchedAt);
    }
    if (!isScalar(value)) continue;
    if (Buffer.byteLength(JSON.stringify(value), 'utf8') > limits.maxTraitValueBytes) continue;
    values[key] = value;
    times[key] = at;
  }
  return { ok: true, value: { values, times } };
}

/** `/links` → the accounts (group ids) the person belongs to, each with when they joined. */
export function learnedAccounts(
  body: unknown,
  options: { limits: LearnLimits; now: number },
): Parsed<LearnedAccount[]> {
  if (!isRecord(body) || !Array.isArray(body.data)) return { ok: false };
  const joined = new Map<string, number>();
  for (const link of body.data.slice(0, MAX_LINKS)) {
    if (!isRecord(link) || !Array.isArray(link.external_ids)) continue;
    if (link.to_collection !== undefined && link.to_collection !== 'accounts') continue;
    for (const entry of link.external_ids) {
      if (!isRecord(entry) || entry.type !== 'group_id') continue;
      const id = typeof entry.id === 'number' ? String(entry.id) : entry.id;
      if (typeof id !== 'string' || id.trim() === '' || RESERVED_KEYS.has(id)) continue;
      if (identifierValueProblem('group id', id, options.limits.maxIdentifierBytes)) continue;
      const at = Math.min(dateOf(entry.created_at) ?? options.now, options.now);
      const known = joined.get(id);
      if (known === undefined || at < known) joined.set(id, at);
    }
  }
  return { ok: true, value: [...joined].map(([id, joinedAt]) => ({ id, joinedAt })) };
}

/** The account used for account-level bucketing: the one joined most recently (ties by id). */
export function primaryAccount(accounts: readonly LearnedAccount[]): LearnedAccount | undefined {
  let best: LearnedAccount | undefined;
  for (const account of accounts) {
    if (
      !best ||
      account.joinedAt > best.joinedAt ||
      (account.joinedAt === best.joinedAt && account.id < best.id)
    )
      best = account;
  }
  return best;
}

export interface LearnedPerson {
  identifiers: readonly SightedExternalId[];
  traits?: LearnedTraits | undefined;
  accounts?: readonly LearnedAccount[] | undefined;
  /** Traits of the primary account, when fetched. */
  accountTraits?: LearnedTraits | undefined;
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 32);
}

/**
 * The identity changes of one person as the Profile API describes them: one that links every
 * identifier and carries the traits and the primary account, and one per other account. They share
 * one timestamp, the latest of the identifiers' and memberships' dates, so a Segment delete refuses
 * all of them or none. Message ids are digests of the content: two containers that learn the same
 * person write it once.
 */
export function profileApiChanges(person: LearnedPerson): IdentityChange[] {
  if (person.identifiers.length === 0) return [];
  const identifiers: ChangeIdentifier[] = person.identifiers.map(({ type, value, firstSeen }) => ({
    type,
    value,
    firstSeen,
  }));
  const accounts = person.accounts ?? [];
  let at = 0;
  for (const i of identifiers) at = Math.max(at, i.firstSeen ?? 0);
  for (const a of accounts) at = Math.max(at, a.joinedAt);
  const primary = primaryAccount(accounts);
  const main: IdentityChange = {
    messageId: '',
    kind: 'link',
    at,
    identifiers,
    traits: person.traits?.values ?? dict(),
    ...(person.traits ? { traitTimes: person.traits.times } : {}),
    audiences: dict(),
  };
  if (primary) {
    main.account = {
      id: primary.id,
      traits: person.accountTraits?.values ?? dict(),
      joinedAt: primary.joinedAt,
    };
  }
  const base = digest([identifiers, person.traits ?? null, accounts, person.accountTraits ?? null]);
  main.messageId = `profile-api:${base}`;
  const others = accounts
    .filter((a) => a.id !== primary?.id)
    .map(
      (account): IdentityChange => ({
        messageId: `profile-api:${base}:${digest(account.id).slice(0, 12)}`,
        kind: 'link',
        at,
        identifiers,
        traits: dict(),
        audiences: dict(),
        account: { id: account.id, traits: dict(), joinedAt: account.joinedAt },
      }),
    );
  return [main, ...others];
}
