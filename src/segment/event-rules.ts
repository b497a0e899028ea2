/**
 * The rules every Segment event must pass before anything is written, so that no input the sender
 * controls can turn into a 5xx (which would make Segment retry, then drop, a whole batch):
 * DynamoDB's key and item limits, Segment's own event limits, well-formed Unicode, keys that would
 * collide with JavaScript's object machinery, and timestamps a bad clock could abuse. A broken
 * rule rejects that one event, with a reason naming the rule; the rest of the batch is applied.
 */

import type { IdentityChange } from '../identity/graph';
import { identifierValueProblem } from '../identity/identifiers';
import { RESERVED_KEYS, reservedKeyIn } from '../platform/core/dict';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../platform/core/nesting';

export interface EventLimits {
  /** Serialized size of one event (Segment's own ingestion limit is 32 KB). */
  maxEventBytes: number;
  /** UTF-8 bytes of an identifier value or type, a group id (DynamoDB keys stop at 2,048). */
  maxIdentifierBytes: number;
  /** Traits one event may set. */
  maxTraits: number;
  maxTraitKeyBytes: number;
  /** Serialized size of one trait value. */
  maxTraitValueBytes: number;
  /** How old an event may be, in ms before it was received (Segment replays resend old events). */
  maxEventAgeMs: number;
}

/** Nesting allowed in an event: Segment events are a few levels deep; this bounds every recursive walk. */
export const MAX_EVENT_DEPTH = MAX_JSON_DEPTH;
/** Clock skew allowed between the sender and us: events timestamped further ahead are refused. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

const bytes = (value: string) => Buffer.byteLength(value, 'utf8');

/**
 * Checks on the raw event, before it is parsed: nesting, size, and the keys of the objects that
 * become maps (JSON keeps `__proto__` as an ordinary key; a parser or a plain object would not).
 */
export function rawEventProblem(input: unknown, limits: EventLimits): string | undefined {
  if (nestedDeeperThan(input, MAX_EVENT_DEPTH)) return `event nests deeper than ${MAX_EVENT_DEPTH} levels`;
  const size = bytes(JSON.stringify(input) ?? '');
  if (size > limits.maxEventBytes) {
    return `event is ${size} bytes; at most ${limits.maxEventBytes} are accepted (MAX_EVENT_BYTES)`;
  }
  if (input === null || typeof input !== 'object') return undefined;
  const event = input as { traits?: unknown; context?: { traits?: unknown } | null };
  for (const [where, source] of [
    ['traits', event.traits],
    ['context.traits', event.context?.traits],
  ] as const) {
    const key = reservedKeyIn(source);
    if (key !== undefined) return `${where}: the key "${key}" is not allowed`;
  }
  return undefined;
}

/** Checks on the identity change an event became: every key, identifier and timestamp it brings. */
export function changeProblem(
  change: IdentityChange,
  limits: EventLimits,
  receivedAt: number,
): string | undefined {
  if (!change.messageId.isWellFormed()) return 'messageId: not well-formed Unicode (lone surrogate)';
  if (!Number.isFinite(change.at)) return 'timestamp: not a date-time';
  if (change.at > receivedAt + MAX_FUTURE_SKEW_MS) {
    return `timestamp: ${new Date(change.at).toISOString()} is more than 5 minutes after the event was received`;
  }
  if (change.at < receivedAt - limits.maxEventAgeMs) {
    const days = Math.round(limits.maxEventAgeMs / 86_400_000);
    return `timestamp: ${new Date(change.at).toISOString()} is older than ${days} days (MAX_EVENT_AGE_DAYS)`;
  }
  for (const { type, value } of change.identifiers) {
    const problem =
      identifierProblem(`identifier type ${JSON.stringify(type.slice(0, 40))}`, type, limits) ??
      identifierProblem(`${type.slice(0, 40)}`, value, limits);
    if (problem) return problem;
    if (RESERVED_KEYS.has(type)) return `identifier type "${type}" is not allowed`;
  }
  if (change.account) {
    const problem = identifierProblem('groupId', change.account.id, limits);
    if (problem) return problem;
    if (RESERVED_KEYS.has(change.account.id)) return `groupId "${change.account.id}" is not allowed`;
  }
  const traitSets = [
    ['traits', change.traits],
    ['group traits', change.account?.traits ?? {}],
  ] as const;
  for (const [where, traits] of traitSets) {
    const keys = Object.keys(traits);
    if (keys.length > limits.maxTraits) {
      return `${where}: ${keys.length} traits; at most ${limits.maxTraits} per event (MAX_TRAITS_PER_EVENT)`;
    }
    for (const key of keys) {
      if (RESERVED_KEYS.has(key)) return `${where}: the key "${key}" is not allowed`;
      if (bytes(key) > limits.maxTraitKeyBytes) {
        return `${where}: a key is ${bytes(key)} bytes; at most ${limits.maxTraitKeyBytes} (MAX_TRAIT_KEY_BYTES)`;
      }
      const size = bytes(JSON.stringify(traits[key]) ?? '');
      if (size > limits.maxTraitValueBytes) {
        return `${where}.${key.slice(0, 40)}: ${size} bytes; at most ${limits.maxTraitValueBytes} (MAX_TRAIT_VALUE_BYTES)`;
      }
    }
  }
  for (const key of Object.keys(change.audiences)) {
    if (RESERVED_KEYS.has(key)) return `audience key "${key}" is not allowed`;
    const problem = identifierProblem('audience key', key, limits);
    if (problem) return problem;
  }
  return undefined;
}

function identifierProblem(what: string, value: string, limits: EventLimits): string | undefined {
  return identifierValueProblem(what, value, limits.maxIdentifierBytes);
}
