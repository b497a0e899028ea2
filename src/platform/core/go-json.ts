/**
 * JSON as Optimizely Agent writes it, byte for byte. Agent renders every body with Go's
 * `encoding/json` (through go-chi/render), which
 *
 * - writes struct fields in declaration order (Crosswalk builds its answers in that order),
 * - writes map keys sorted by bytes (`goMap` sorts the objects that are maps on Agent's side:
 *   attributes, variables, bucket maps, the config's maps, a datafile re-read as a map),
 * - escapes `<`, `>`, `&`, U+2028 and U+2029 as `\u003c`… (HTML-safe), and
 * - ends the body with a newline.
 *
 * Agent's own tests compare bodies as text, newline included, so every JSON body Crosswalk sends
 * goes through `goJsonText`.
 */

const HTML_UNSAFE = /[<>&\u2028\u2029]/;
const HTML_UNSAFE_ALL = /[<>&\u2028\u2029]/g;
const ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** The body text of `value`: compact JSON, HTML-safe escapes, a final newline. */
export function goJsonText(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return `${HTML_UNSAFE.test(text) ? text.replace(HTML_UNSAFE_ALL, (c) => ESCAPES[c] as string) : text}\n`;
}

const byBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Sets an entry of a plain object, `__proto__` included as an ordinary key (an assignment would set
 * the prototype instead). Plain objects, not prototype-less ones: JSON.stringify is faster on them.
 */
function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** A map as Go writes it: the same entries, keys sorted. Returns `map` itself when already sorted. */
export function goMap<V>(map: Readonly<Record<string, V>>): Record<string, V> {
  const keys = Object.keys(map);
  if (isSorted(keys)) return map as Record<string, V>;
  const out: Record<string, V> = {};
  for (const key of keys.sort(byBytes)) put(out, key, map[key]);
  return out;
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++)
    if (byBytes(keys[i - 1] as string, keys[i] as string) > 0) return false;
  return true;
}

/**
 * A JSON value as Go writes it after reading it into `interface{}`: every object a map, so keys are
 * sorted at every depth (Agent's datafile route and its batch items re-encode what they parsed).
 * Returns `value` itself when it is already in that order (no copy on the decide path).
 */
export function goValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Index loops, no iterators or closures: every decision's variables come through here.
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const written = goValue(item);
      if (written === item) continue;
      copy ??= [...value];
      copy[i] = written;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let out: Record<string, unknown> | undefined = isSorted(keys) ? undefined : {};
  if (out) keys.sort(byBytes);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = record[key];
    const written = goValue(item);
    if (!out && written !== item) {
      out = {};
      for (let j = 0; j < i; j++) put(out, keys[j] as string, record[keys[j] as string]);
    }
    if (out) put(out, key, written);
  }
  return out ?? record;
}
