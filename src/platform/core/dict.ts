/**
 * Records keyed by input (trait names, audience keys, account ids, identifier types): objects with
 * no prototype, so a key such as `toString` or `hasOwnProperty` is an ordinary key, and reads that
 * go through `own` never see Object.prototype's members. `__proto__`, `constructor` and `prototype`
 * are refused at the input boundary (segment/event-rules.ts, decide's schema) before they get here.
 */
export function dict<V>(entries?: Iterable<readonly [string, V]>): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  if (entries) for (const [key, value] of entries) out[key] = value;
  return out;
}

/** `record[key]` when it is the record's own entry, else undefined (never an inherited member). */
export function own<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Object keys that JavaScript treats specially; refused wherever input becomes a key. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The first reserved key of a plain object (as JSON.parse builds it, `__proto__` is an own key). */
export function reservedKeyIn(source: unknown): string | undefined {
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return undefined;
  return Object.keys(source).find((key) => RESERVED_KEYS.has(key));
}
