/**
 * The decide body's hand-written fast path (functions/agent-api/schema.ts) against its schema: what
 * the fast path accepts, the schema accepts and parses to the same value; what the schema refuses,
 * the fast path leaves to it (so every 4xx message stays the schema's).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  decideBodyFastPath,
  decideBodySchema,
  type RequestLimits,
} from '../../../functions/agent-api/schema';

const limits: RequestLimits = { maxIdentifiers: 3, maxIdentifierBytes: 24, allowReserved: false };
const fast = decideBodyFastPath(limits);
const schema = decideBodySchema(limits);

/** Strings near every rule: empty, long, multi-byte, control characters, lone surrogates, `$opt_`. */
const text = fc.oneof(
  fc.constantFrom('', 'a', 'user-1', 'x'.repeat(24), 'x'.repeat(25), 'é'.repeat(12), 'é'.repeat(13)),
  fc.constantFrom('a\u0000b', 'a\u007fb', 'a\u0085b', '\ud800', 'ok\udc00', '$opt_bucketing_id', 'platform'),
  fc.constantFrom('__proto__', 'constructor', 'email', 'anonymous_id', 'Person@Example.com'),
  fc.string({ maxLength: 30 }),
);
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const anything = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 2 }),
  fc.dictionary(text, scalar, { maxKeys: 2 }),
);
const body = fc.record(
  {
    userId: fc.oneof(text, anything),
    identifiers: fc.oneof(fc.dictionary(text, text, { maxKeys: 5 }), anything),
    userAttributes: fc.oneof(fc.dictionary(text, scalar, { maxKeys: 4 }), anything),
    decideOptions: fc.oneof(fc.array(text, { maxLength: 3 }), anything),
    forcedDecisions: fc.oneof(
      fc.constant([]),
      fc.array(fc.record({ flagKey: text, variationKey: text }), { maxLength: 1 }),
      anything,
    ),
    fetchSegments: fc.oneof(fc.boolean(), anything),
    fetchSegmentsOptions: fc.oneof(fc.constant(['IGNORE_CACHE']), anything),
    other: anything,
  },
  { requiredKeys: [] },
);
/** As the handler sees a body: parsed from its JSON text (so `__proto__` is an own key). */
const parsedBody = body.map((b) => JSON.parse(JSON.stringify(b)) as unknown);

describe('the decide body fast path', () => {
  it('parses what it accepts exactly as the schema does, and leaves everything the schema refuses to it', () => {
    fc.assert(
      fc.property(fc.oneof(parsedBody, anything), (input) => {
        const quick = fast(input);
        const parsed = schema.safeParse(input);
        if (quick !== undefined) {
          expect(parsed.success).toBe(true);
          expect(quick).toEqual(parsed.data);
        }
        if (!parsed.success) expect(quick).toBeUndefined();
      }),
      { numRuns: 3_000 },
    );
  });

  it('takes the common bodies: a user id or identifiers, attributes and option names', () => {
    const bodies = [
      { userId: 'user-1' },
      { userId: '', identifiers: { email: 'a@b.c' } },
      {
        identifiers: { anonymous_id: 'anon-1', user_id: 'u' },
        userAttributes: { platform: 'ios', n: 1, b: true, x: null },
      },
      {
        userId: 'u',
        decideOptions: ['DISABLE_DECISION_EVENT', 'NOT_AN_OPTION'],
        forcedDecisions: [],
        fetchSegments: false,
      },
    ];
    for (const b of bodies) expect(fast(b)).toEqual(schema.parse(b));
    expect(fast({ userId: 'u' })).toEqual({
      userId: 'u',
      userAttributes: {},
      decideOptions: [],
      forcedDecisions: [],
    });
  });

  it('leaves reserved keys, forced decisions and unknown fields to the schema and its caller', () => {
    expect(fast(JSON.parse('{"userId":"u","userAttributes":{"__proto__":1}}'))).toBeUndefined();
    expect(fast({ identifiers: JSON.parse('{"constructor":"x"}') })).toBeUndefined();
    expect(fast({ userId: 'u', userAttributes: { $opt_bucketing_id: 'a' } })).toBeUndefined();
    expect(fast({ userId: 'u', forcedDecisions: [{ flagKey: 'f', variationKey: 'v' }] })).toBeUndefined();
    expect(fast({ userId: 'u', extra: 1 })).toBeUndefined();
    expect(
      decideBodyFastPath({ ...limits, allowReserved: true })({
        userId: 'u',
        userAttributes: { $opt_x: 'a' },
      }),
    ).toEqual({
      userId: 'u',
      userAttributes: { $opt_x: 'a' },
      decideOptions: [],
      forcedDecisions: [],
    });
  });
});
