import { describe, expect, it } from '@jest/globals';
import { goJsonText, goMap, goValue } from '../../../src/platform/core/go-json';

describe("JSON as Optimizely Agent's Go encoder writes it", () => {
  it('ends with a newline and escapes <, >, &, U+2028 and U+2029 as Go does', () => {
    expect(goJsonText({ error: 'userId cannot be empty' })).toBe('{"error":"userId cannot be empty"}\n');
    expect(goJsonText({ a: '<b> & \u2028\u2029' })).toBe('{"a":"\\u003cb\\u003e \\u0026 \\u2028\\u2029"}\n');
    expect(JSON.parse(goJsonText({ a: '<b> & c' }))).toEqual({ a: '<b> & c' });
  });

  it('sorts the keys of a map, and leaves an already sorted one as it is', () => {
    const sorted = { a: 1, b: 2 };
    expect(goMap(sorted)).toBe(sorted);
    expect(Object.keys(goMap({ plan: 'pro', Zeta: 1, attr_1: 'x' }))).toEqual(['Zeta', 'attr_1', 'plan']);
    // A key such as __proto__ stays an entry.
    const tricky = JSON.parse('{"z":1,"__proto__":2}') as Record<string, number>;
    expect(JSON.stringify(goMap(tricky))).toBe('{"__proto__":2,"z":1}');
  });

  it('sorts every object of a value read back as interface{}, at every depth, arrays in order', () => {
    expect(JSON.stringify(goValue({ b: [{ d: 1, c: 2 }], a: { f: null, e: true } }))).toBe(
      '{"a":{"e":true,"f":null},"b":[{"c":2,"d":1}]}',
    );
  });

  it('answers a value already in that order itself, and copies only what must change', () => {
    const sorted = { a: 1, b: [{ c: 2, d: [3, { e: 4 }] }], f: { g: null } };
    expect(goValue(sorted)).toBe(sorted);
    const value = { a: 1, b: { d: 1, c: 2 }, e: [1, { y: 1, x: 2 }, { z: 0 }], f: 'last' };
    const before = JSON.stringify(value);
    const written = goValue(value) as typeof value;
    expect(JSON.stringify(written)).toBe(
      '{"a":1,"b":{"c":2,"d":1},"e":[1,{"x":2,"y":1},{"z":0}],"f":"last"}',
    );
    // The input is left as it was; parts already in order are shared, not copied.
    expect(JSON.stringify(value)).toBe(before);
    expect(written.e[2]).toBe(value.e[2]);
  });
});
