/**
 * Segment Profiles Sync's materialized tables, exported from the warehouse (CSV or NDJSON), as
 * identity changes (segmentio/segment-docs `src/unify/profiles-sync/tables.md`):
 *
 * - `user_identifiers` (`canonical_segment_id`, `type`, `value`, `timestamp`, …): the rows of one
 *   profile link its identifiers, each first seen at its row's `timestamp`;
 * - `user_traits` (`canonical_segment_id`, `name`, `value`, `timestamp`, …): traits of that profile,
 *   each stamped with its row's `timestamp`;
 * - account links: Profiles Sync has no account table, so any export with `group_id` and the person
 *   (`canonical_segment_id`, or `user_id` / `anonymous_id`, e.g. from the warehouse's `groups` event
 *   table), optionally with the account's traits as JSON in `traits`.
 *
 * Every change carries Segment's profile id (`segment_id:<canonical_segment_id>`, a join key that is
 * never an experiment id's anchor), so traits and links find their person whatever the order of the
 * files and of their rows: traits and links are `attach` changes, refused while their person is not
 * loaded. Rows of one profile that come together (an export ordered by `canonical_segment_id`) make
 * one change; the docs give the queries.
 *
 * The tables' column types are not documented: a trait value that reads as JSON (`true`, `42`,
 * `"pro"`) is taken as that JSON value, anything else as text; dates in the common warehouse forms
 * (`2026-11-24 09:00:00.000 UTC`, ISO-8601, with or without an offset, UTC assumed) are accepted.
 */
import { createHash } from 'node:crypto';
import type { ChangeIdentifier, IdentityChange } from '../identity/graph';
import { normalizeIdentifier, SEGMENT_ID_TYPE } from '../identity/identifiers';
import type { TraitValue } from '../identity/model';
import { type IdentityRules, isBlocked, keptWithinLimits } from '../identity/rules';
import { dict, RESERVED_KEYS } from '../platform/core/dict';

export type ProfilesSyncTable = 'user_identifiers' | 'user_traits' | 'account_links';

/** Which table a file holds, from its columns (lower-cased); undefined: not a Profiles Sync table. */
export function profilesSyncTable(columns: readonly string[]): ProfilesSyncTable | undefined {
  const has = (name: string) => columns.includes(name);
  if (
    has('group_id') &&
    (has('canonical_segment_id') || has('segment_id') || has('user_id') || has('anonymous_id'))
  )
    return 'account_links';
  if (!has('canonical_segment_id')) return undefined;
  if (has('name') && has('value')) return 'user_traits';
  if (has('type') && has('value')) return 'user_identifiers';
  return undefined;
}

const WAREHOUSE_DATE =
  /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/i;

/** A warehouse timestamp as epoch ms (UTC unless it says otherwise), or undefined. */
export function warehouseDate(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value > 1e11 ? value : value * 1000;
  if (typeof value !== 'string') return undefined;
  const match = WAREHOUSE_DATE.exec(value.trim());
  if (!match) return undefined;
  const [, date, time, zone] = match;
  const [clock = '', fraction = ''] = time!.split('.');
  const offset =
    !zone || /^(z|utc)$/i.test(zone)
      ? 'Z'
      : zone.includes(':')
        ? zone
        : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(
    `${date}T${clock.length === 5 ? `${clock}:00` : clock}${fraction ? `.${fraction.slice(0, 3)}` : ''}${offset}`,
  );
  return Number.isFinite(ms) ? ms : undefined;
}

/** A trait value as exported: JSON scalars as such, other text as text; objects are not traits. */
export function traitValue(raw: unknown): { ok: true; value: TraitValue } | { ok: false } {
  if (raw === null || typeof raw === 'boolean' || (typeof raw === 'number' && Number.isFinite(raw)))
    return { ok: true, value: raw };
  if (typeof raw !== 'string') return { ok: false };
  const text = raw.trim();
  if (/^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?|".*")$/s.test(text)) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || ['string', 'number', 'boolean'].includes(typeof parsed))
        return { ok: true, value: parsed as TraitValue };
    } catch {
      // not JSON after all: the text itself
    }
  }
  return { ok: true, value: raw };
}

/** A row of one of the tables, checked: what it says, or why it cannot be used. */
export type SyncRow =
  | { table: 'user_identifiers'; profile: string; type: string; value: string; at: number }
  | { table: 'user_traits'; profile: string; name: string; value: TraitValue; at: number }
  | {
      table: 'account_links';
      person: ChangeIdentifier;
      groupId: string;
      traits: Record<string, TraitValue>;
      at: number;
    };

const text = (value: unknown) =>
  typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';

function dateOfRow(row: Record<string, unknown>): number | undefined {
  return warehouseDate(row.timestamp) ?? warehouseDate(row.received_at) ?? warehouseDate(row.uuid_ts);
}

/** Reads one row of `table`; keys are the lower-cased column names. */
export function syncRow(
  table: ProfilesSyncTable,
  raw: Record<string, unknown>,
): SyncRow | { problem: string } {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) row[key.toLowerCase()] = value;
  const at = dateOfRow(row);
  if (at === undefined) return { problem: 'timestamp: not a date-time (nor received_at, uuid_ts)' };
  const profile = text(row.canonical_segment_id) || text(row.segment_id);
  if (table === 'account_links') {
    const groupId = text(row.group_id);
    if (groupId === '') return { problem: 'group_id: empty' };
    const person: ChangeIdentifier | undefined = profile
      ? { type: SEGMENT_ID_TYPE, value: profile }
      : text(row.user_id)
        ? { type: 'user_id', value: text(row.user_id) }
        : text(row.anonymous_id)
          ? { type: 'anonymous_id', value: text(row.anonymous_id) }
          : undefined;
    if (!person) return { problem: 'no canonical_segment_id, user_id or anonymous_id' };
    const traits = dict<TraitValue>();
    let rawTraits = row.traits;
    if (typeof rawTraits === 'string' && rawTraits.trim() !== '') {
      try {
        rawTraits = JSON.parse(rawTraits);
      } catch {
        return { problem: 'traits: not JSON' };
      }
    }
    if (rawTraits && typeof rawTraits === 'object' && !Array.isArray(rawTraits)) {
      for (const [key, value] of Object.entries(rawTraits)) {
        const parsed = traitValue(value);
        if (parsed.ok && !RESERVED_KEYS.has(key) && key !== '') traits[key] = parsed.value;
      }
    }
    return { table, person, groupId, traits, at };
  }
  if (profile === '') return { problem: 'canonical_segment_id: empty' };
  if (table === 'user_identifiers') {
    const type = text(row.type).toLowerCase();
    const value = text(row.value);
    if (type === '' || value === '') return { problem: 'type and value are required' };
    return { table, profile, type, value, at };
  }
  const name = text(row.name);
  if (name === '') return { problem: 'name: empty' };
  const value = traitValue(row.value);
  if (!value.ok) return { problem: `${name.slice(0, 40)}: not a scalar value` };
  return { table, profile, name, value: value.value, at };
}

function digest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 32);
}

/**
 * One profile's rows of one table, as one change. Identifiers: per type the earliest within the
 * identity limits (as the webhook would have linked them); Segment's profile id joins them.
 */
export function syncChange(rows: readonly SyncRow[], rules: IdentityRules): IdentityChange | undefined {
  const first = rows[0];
  if (!first) return undefined;
  let at = 0;
  for (const row of rows) at = Math.max(at, row.at);
  if (first.table === 'account_links') {
    return {
      messageId: `profiles-sync:links:${digest(rows)}`,
      kind: 'attach',
      at,
      identifiers: [first.person],
      traits: dict(),
      audiences: dict(),
      account: { id: first.groupId, traits: first.traits, joinedAt: first.at },
    };
  }
  const join: ChangeIdentifier = { type: SEGMENT_ID_TYPE, value: first.profile };
  if (first.table === 'user_traits') {
    const traits = dict<TraitValue>();
    const traitTimes = dict<number>();
    for (const row of rows as Extract<SyncRow, { table: 'user_traits' }>[]) {
      // The latest row of a trait wins (Segment appends the newest value after a merge).
      if (traitTimes[row.name] === undefined || row.at >= traitTimes[row.name]!) {
        traits[row.name] = row.value;
        traitTimes[row.name] = row.at;
      }
    }
    return {
      messageId: `profiles-sync:traits:${digest(rows)}`,
      kind: 'attach',
      at,
      identifiers: [join],
      traits,
      traitTimes,
      audiences: dict(),
    };
  }
  const sighted = (rows as Extract<SyncRow, { table: 'user_identifiers' }>[])
    .map((row) => ({ ...normalizeIdentifier({ type: row.type, value: row.value }), firstSeen: row.at }))
    .filter((i) => !isBlocked(rules, i) && i.type !== SEGMENT_ID_TYPE);
  const kept = keptWithinLimits(rules, sighted);
  return {
    messageId: `profiles-sync:identifiers:${digest(rows)}`,
    kind: 'link',
    at,
    identifiers: [{ ...join, firstSeen: at }, ...kept],
    traits: dict(),
    audiences: dict(),
  };
}

/** Whether a row belongs with the rows before it (the same profile, the same account link). */
export function sameGroup(a: SyncRow, b: SyncRow): boolean {
  if (a.table !== b.table) return false;
  if (a.table === 'account_links' || b.table === 'account_links') return false;
  return a.profile === (b as { profile: string }).profile;
}
