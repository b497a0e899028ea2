/**
 * How deep a JSON body may nest. Every body a route parses is measured before anything walks it
 * recursively (schema checks, JSON.stringify of a batch operation, signature checks), so a hostile
 * body nested thousands deep is a 400 naming the rule, never a RangeError (a 500).
 */

/** Request bodies are a few levels deep (a batch operation's decide: 5); events too. */
export const MAX_JSON_DEPTH = 32;

/**
 * True when `value` nests deeper than `max` arrays/objects. Iterative, so a 400,000-deep array is
 * measured, not a stack overflow.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * True when JSON `text` has at most `max` opening brackets in all: then nothing parsed from it can
 * nest deeper than `max`, and the walk can be skipped (a decide body has a handful).
 */
export function shallowJsonText(text: string, max = MAX_JSON_DEPTH): boolean {
  let openers = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i >= 0; i = text.indexOf(bracket, i + 1)) {
      if (++openers > max) return false;
    }
  }
  return true;
}

/** The rule a parsed body breaks by its nesting, or undefined. */
export function nestingProblem(value: unknown, what = 'body'): string | undefined {
  return nestedDeeperThan(value, MAX_JSON_DEPTH)
    ? `${what}: nests deeper than ${MAX_JSON_DEPTH} levels`
    : undefined;
}
