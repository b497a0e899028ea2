import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { type HttpEvent, queryAll, queryValues } from '../../src/platform/http/api-gateway';

const withQuery = (rawQueryString: string) => ({ rawQueryString }) as HttpEvent;

describe('query parameters read from the raw query string', () => {
  it('reads every value of a name as URLSearchParams does, repeats and empty values kept', () => {
    const names = fc.constantFrom('keys', 'key', 'keys2', 'k', 'eventKey', 'x');
    const pair = fc.oneof(
      fc.tuple(names, fc.stringMatching(/^[a-z0-9_,=. -]{0,6}$/)).map(([n, v]) => `${n}=${v}`),
      names,
      fc.constant(''),
    );
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 6 }), names, (pairs, name) => {
        const raw = pairs.join('&');
        expect(queryAll(withQuery(raw), name)).toEqual(new URLSearchParams(raw).getAll(name));
      }),
    );
  });

  it('splits list values on commas, trimming and dropping empty items', () => {
    expect(queryValues(withQuery('keys=a&keys=b,%20c,,&other=d'), 'keys')).toEqual(['a', 'b', 'c']);
    expect(queryValues(withQuery('keys=a&keys=b, c,,&other=d'), 'keys')).toEqual(['a', 'b', 'c']);
    expect(queryValues(withQuery('keys= flag_01 '), 'keys')).toEqual(['flag_01']);
    expect(queryValues(withQuery('keys=&keyset=z&keys'), 'keys')).toEqual([]);
    expect(queryValues(withQuery('akeys=x&keys=y'), 'keys')).toEqual(['y']);
  });
});
