/**
 * Segment's Profile API read paths, answered from the identity cache with Segment's shapes (pure:
 * the profiles function reads, these shape). What Segment documents is followed field for field; what
 * it does not (docs/profile-api.md lists each) is answered the closest way Crosswalk can:
 *
 * - users `/traits`: traits and Engage audiences (as boolean traits, as Segment shows them), by name,
 *   `include`, `limit` (1–200, default 10), `next` (the trait name to continue from), `class`
 *   (`audience`; `computed_trait` answers none: Crosswalk does not keep which traits Engage
 *   computed), `verbose` (`{value, source_id, updated_at}`; Crosswalk knows no source: null);
 * - `/external_ids`: oldest first, `include` (types), `limit`, `next` (an offset);
 * - `/links`: the accounts, most recently joined first, at most 20;
 * - `/metadata`: first and last sighting; message and source ids are not kept (null);
 * - accounts `/traits` and `/links` (the members, each with their external ids, at most 20).
 */

import { SEGMENT_ID_TYPE } from '../identity/identifiers';
import type { TraitValue } from '../identity/model';
import type { AccountState, ProfileState, Stamped } from '../identity/profile';
import { dict, own } from '../platform/core/dict';

/** A refusal in Segment's words: status, `error.code`, `error.message`. */
export class ProfileApiError extends Error {
  override name = 'ProfileApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = () => new ProfileApiError(404, 'not_found', 'Profile was not found.');

export interface Cursor {
  url: string;
  has_more: boolean;
  next: string;
}

const MAX_LIMIT = 200;
const DEFAULT_LIMIT = 10;
const MAX_LINKS = 20;

function iso(ms: number | undefined): string | null {
  return ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

function limitOf(query: URLSearchParams): number {
  const raw = query.get('limit');
  if (raw === null || raw === '') return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new ProfileApiError(
      400,
      'validation_error',
      `The parameter \`limit\` must be a whole number from 1 to ${MAX_LIMIT}.`,
    );
  }
  return n;
}

function listOf(query: URLSearchParams, name: string): string[] | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  return raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function verboseOf(query: URLSearchParams): boolean {
  const raw = query.get('verbose');
  if (raw === null || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new ProfileApiError(400, 'validation_error', 'The parameter `verbose` must be true or false.');
}

/** `{traits, cursor}` over stamped traits, with include, limit, next and verbose. */
function traitPage(
  entries: Record<string, Stamped<TraitValue>>,
  query: URLSearchParams,
  url: string,
): { traits: Record<string, unknown>; cursor: Cursor } {
  const limit = limitOf(query);
  const verbose = verboseOf(query);
  const include = listOf(query, 'include');
  const from = query.get('next') ?? '';
  const names = Object.keys(entries)
    .filter((name) => !include || include.includes(name))
    .sort()
    .filter((name) => name >= from);
  const page = names.slice(0, limit);
  const traits = dict<unknown>();
  for (const name of page) {
    const entry = entries[name]!;
    traits[name] = verbose ? { value: entry.value, source_id: null, updated_at: iso(entry.at) } : entry.value;
  }
  const next = names[limit] ?? '';
  return { traits, cursor: { url, has_more: next !== '', next } };
}

/** Users `/traits`: traits and audiences, or one class of them. */
export function userTraits(profile: ProfileState, query: URLSearchParams, url: string) {
  const klass = query.get('class');
  if (klass !== null && klass !== 'audience' && klass !== 'computed_trait') {
    throw new ProfileApiError(
      400,
      'validation_error',
      'The parameter `class` must be audience or computed_trait.',
    );
  }
  const entries = dict<Stamped<TraitValue>>();
  if (klass === null) for (const [name, stamped] of Object.entries(profile.traits)) entries[name] = stamped;
  if (klass === null || klass === 'audience') {
    for (const [name, stamped] of Object.entries(profile.audiences)) {
      const trait = own(entries, name);
      if (!trait || trait.at < stamped.at) entries[name] = stamped;
    }
  }
  return traitPage(entries, query, url);
}

/** Accounts `/traits`. */
export function accountTraits(account: AccountState | null, query: URLSearchParams, url: string) {
  return traitPage(account?.traits ?? dict(), query, url);
}

function externalIdsOf(profile: ProfileState) {
  return profile.identifiers
    .filter((i) => i.type !== SEGMENT_ID_TYPE)
    .sort(
      (a, b) =>
        (a.firstSeen ?? 0) - (b.firstSeen ?? 0) ||
        (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) ||
        (a.value < b.value ? -1 : 1),
    )
    .map((i) => ({
      source_id: null,
      collection: 'users',
      id: i.value,
      type: i.type,
      created_at: iso(i.firstSeen),
      encoding: 'none',
      first_message_id: null,
    }));
}

/** Users `/external_ids`. */
export function externalIds(profile: ProfileState, query: URLSearchParams, url: string) {
  const limit = limitOf(query);
  const include = listOf(query, 'include');
  const next = query.get('next') ?? '';
  const offset = next === '' ? 0 : Number(next);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new ProfileApiError(400, 'validation_error', 'The parameter `next` is not a cursor this API gave.');
  }
  const all = externalIdsOf(profile).filter((i) => !include || include.includes(i.type));
  const data = all.slice(offset, offset + limit);
  const more = offset + limit < all.length;
  return { data, cursor: { url, has_more: more, next: more ? String(offset + limit) : '' } };
}

/** Users `/links`: the accounts, most recently joined first. */
export function userLinks(profile: ProfileState) {
  const accounts = Object.entries(profile.accounts)
    .sort(([a, x], [b, y]) => y.joinedAt - x.joinedAt || (a < b ? -1 : 1))
    .slice(0, MAX_LINKS);
  return {
    data: accounts.map(([id, { joinedAt }]) => ({
      to_collection: 'accounts',
      external_ids: [
        {
          id,
          type: 'group_id',
          source_id: null,
          collection: 'accounts',
          created_at: iso(joinedAt),
          encoding: 'none',
        },
      ],
    })),
  };
}

/** Accounts `/links`: the members, each with their external ids. */
export function accountLinks(members: readonly ProfileState[]) {
  return {
    data: members.slice(0, MAX_LINKS).map((member) => ({
      to_collection: 'users',
      external_ids: externalIdsOf(member).map(({ first_message_id: _, ...rest }) => rest),
    })),
  };
}

/** Users `/metadata`: when the profile was first and last seen changing. */
export function metadata(profile: ProfileState) {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const i of profile.identifiers) {
    first = Math.min(first, i.firstSeen);
    last = Math.max(last, i.firstSeen);
  }
  for (const stamped of [...Object.values(profile.traits), ...Object.values(profile.audiences)])
    last = Math.max(last, stamped.at);
  for (const { joinedAt } of Object.values(profile.accounts)) last = Math.max(last, joinedAt);
  return {
    metadata: {
      created_at: iso(first),
      updated_at: iso(last),
      expires_at: null,
      first_message_id: null,
      first_source_id: null,
      last_message_id: null,
      last_source_id: null,
    },
  };
}
