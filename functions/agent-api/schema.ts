/**
 * Request schemas of the Agent-compatible routes: Optimizely Agent's bodies plus Crosswalk's
 * `identifiers`, with the deployment's caps in the schema itself (so a parsed body is a valid one
 * and its type comes from the schema, never a cast). What Agent checks with its own wording
 * (decide options, an empty userId, override keys) is left to the handler, so the answer can use it.
 */

import { RESERVED_PREFIX } from '../../src/agent/attributes';
import { identifierText } from '../../src/identity/identifier-schema';
import { hasControlCharacter } from '../../src/identity/identifiers';
import { RESERVED_KEYS, reservedKeyIn } from '../../src/platform/core/dict';
import { InvalidRequestError } from '../../src/platform/core/errors';
import * as z from '../../src/platform/core/zod';

export interface RequestLimits {
  maxIdentifiers: number;
  maxIdentifierBytes: number;
  /** When false, `$opt_` attribute keys are refused (ALLOW_RESERVED_ATTRIBUTES). */
  allowReserved: boolean;
}

const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
});

/** A `userId` follows the identifier rules; an empty one is Agent's own message (the handler's). */
const userIdText = (limits: RequestLimits) =>
  identifierText('userId', limits.maxIdentifierBytes, 'MAX_IDENTIFIER_BYTES');

/** Body fields whose keys come from the caller: `__proto__`, `constructor` and `prototype` are refused. */
export const KEYED_FIELDS = ['userAttributes', 'identifiers', 'eventTags', 'experimentBucketMap'] as const;

function personFields(limits: RequestLimits) {
  const attributes = z.record(z.string(), attributeValue);
  return {
    // An empty userId is Agent's `missing "userId"` (answered by the handler), not a schema error.
    userId: z.optional(userIdText(limits)),
    userAttributes: z._default(
      limits.allowReserved
        ? attributes
        : attributes.check(
            z.refine((a) => !Object.keys(a).some((k) => k.startsWith(RESERVED_PREFIX)), {
              error: (issue) =>
                `reserved keys may not be set: ${Object.keys(issue.input as object)
                  .filter((k) => k.startsWith(RESERVED_PREFIX))
                  .join(', ')}`,
            }),
          ),
      {},
    ),
    /** Crosswalk's extension: identifiers by type, e.g. {"anonymous_id": "…", "email": "…"}. */
    identifiers: z.optional(
      z
        .record(
          identifierText('type', 128, 'identifier types stop at 128 bytes', 'type must not be empty'),
          identifierText(
            'value',
            limits.maxIdentifierBytes,
            'MAX_IDENTIFIER_BYTES',
            'value must not be empty',
          ),
        )
        .check(
          z.refine((ids) => Object.keys(ids).length <= limits.maxIdentifiers, {
            error: (issue) =>
              `${Object.keys(issue.input as object).length} given, at most ${limits.maxIdentifiers} per request (MAX_IDENTIFIERS_PER_REQUEST)`,
          }),
        ),
    ),
  };
}

export function decideBodySchema(limits: RequestLimits) {
  return z.object({
    ...personFields(limits),
    // Names are checked by the handler, with Agent's `invalid option: <name>`.
    decideOptions: z._default(z.array(z.string()), []),
    // As Agent takes them: an absent or empty ruleKey forces the flag as a whole.
    forcedDecisions: z._default(
      z.array(z.object({ flagKey: z.string(), ruleKey: z.optional(z.string()), variationKey: z.string() })),
      [],
    ),
    // Accepted for Agent compatibility; Crosswalk has no ODP segments to fetch.
    fetchSegments: z.optional(z.boolean()),
    fetchSegmentsOptions: z.optional(z.array(z.enum(['IGNORE_CACHE', 'RESET_CACHE']))),
  });
}

export type DecideBody = z.infer<ReturnType<typeof decideBodySchema>>;

const DECIDE_FIELDS: ReadonlySet<string> = new Set([
  'userId',
  'identifiers',
  'userAttributes',
  'decideOptions',
  'forcedDecisions',
  'fetchSegments',
]);

/** True when `s` follows the identifier rules (identifierText) and is at most `max` bytes. */
function identifierOk(s: unknown, max: number): s is string {
  return (
    typeof s === 'string' &&
    s.isWellFormed() &&
    !hasControlCharacter(s) &&
    // A UTF-16 unit is at most 3 UTF-8 bytes: most values need no count.
    (s.length * 3 <= max || Buffer.byteLength(s, 'utf8') <= max)
  );
}

const isPlainRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The decide body most callers send, checked by hand: a user id or a few identifiers, attributes,
 * option names, no forced decisions. Answers the body as `decideBodySchema` parses it (defaults
 * filled in), or undefined for anything else, valid or not, which the schema then parses and words
 * the problem of: a body is never refused here, so every 4xx message is the schema's. (The schema
 * costs more than the rest of a warm decide's own work; docs/benchmarks.md.) Reserved keys
 * (`__proto__`…) are left to the schema's caller too.
 */
export function decideBodyFastPath(limits: RequestLimits): (body: unknown) => DecideBody | undefined {
  const { maxIdentifiers, maxIdentifierBytes, allowReserved } = limits;
  return (body) => {
    if (!isPlainRecord(body)) return undefined;
    for (const key of Object.keys(body)) if (!DECIDE_FIELDS.has(key)) return undefined;
    const { userId, identifiers, userAttributes = {}, decideOptions = [], forcedDecisions = [] } = body;
    if (userId !== undefined && !identifierOk(userId, maxIdentifierBytes)) return undefined;
    if (identifiers !== undefined) {
      if (!isPlainRecord(identifiers)) return undefined;
      const types = Object.keys(identifiers);
      if (types.length > maxIdentifiers) return undefined;
      for (const type of types) {
        if (type === '' || RESERVED_KEYS.has(type) || !identifierOk(type, 128)) return undefined;
        const value = identifiers[type];
        if (value === '' || !identifierOk(value, maxIdentifierBytes)) return undefined;
      }
    }
    if (!isPlainRecord(userAttributes)) return undefined;
    for (const key of Object.keys(userAttributes)) {
      if (RESERVED_KEYS.has(key) || (!allowReserved && key.startsWith(RESERVED_PREFIX))) return undefined;
      const type = typeof userAttributes[key];
      if (type !== 'string' && type !== 'number' && type !== 'boolean' && userAttributes[key] !== null)
        return undefined;
    }
    if (!Array.isArray(decideOptions) || !decideOptions.every((o) => typeof o === 'string')) return undefined;
    if (!Array.isArray(forcedDecisions) || forcedDecisions.length > 0) return undefined;
    if (body.fetchSegments !== undefined && typeof body.fetchSegments !== 'boolean') return undefined;
    return { ...body, userAttributes, decideOptions, forcedDecisions } as DecideBody;
  };
}

export function trackBodySchema(limits: RequestLimits) {
  return z.object({
    ...personFields(limits),
    eventTags: z._default(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])), {}),
  });
}

/** POST /v1/activate: who; the selection is in the query. */
export function activateBodySchema(limits: RequestLimits) {
  return z.object(personFields(limits));
}

/** POST /v1/override. Empty keys are refused by the handler with Agent's messages. */
export function overrideBodySchema(limits: RequestLimits) {
  return z.object({
    userId: z._default(userIdText(limits), ''),
    experimentKey: z._default(z.string(), ''),
    variationKey: z._default(z.string(), ''),
  });
}

export function lookupBodySchema(limits: RequestLimits) {
  return z.object({ userId: z._default(userIdText(limits), '') });
}

/** At most this many experiments in one saved profile (a datafile rarely has a hundred). */
export const MAX_PROFILE_EXPERIMENTS = 1000;

/**
 * POST /v1/save. Like Agent, a missing map saves an empty profile and entries that are not objects
 * are skipped; an object without a `variation_id` string (on which Agent fails) is refused.
 */
export function saveBodySchema(limits: RequestLimits) {
  return z.object({
    userId: z._default(userIdText(limits), ''),
    experimentBucketMap: z._default(
      z.record(z.string(), z.unknown()).check(
        z.refine(
          (map) => Object.keys(map).length <= MAX_PROFILE_EXPERIMENTS,
          `at most ${MAX_PROFILE_EXPERIMENTS} experiments`,
        ),
        z.refine(
          (map) =>
            Object.values(map).every(
              (entry) =>
                typeof entry !== 'object' ||
                entry === null ||
                typeof (entry as { variation_id?: unknown }).variation_id === 'string',
            ),
          'each entry needs a "variation_id" string',
        ),
      ),
      {},
    ),
  });
}

/** POST /v1/batch: Agent's operations, each served by this function's routes. */
export const batchBodySchema = z.object({
  operations: z.array(
    z.object({
      method: z.enum(['GET', 'POST']),
      url: z.string().check(z.minLength(1)),
      operationID: z._default(z.string(), ''),
      body: z.optional(z.unknown()),
      params: z._default(z.record(z.string(), z.string()), {}),
      headers: z._default(z.record(z.string(), z.string()), {}),
    }),
  ),
});

/** The user-id key Agent's REST profile service plugin sends unless its `userIDKey` says otherwise. */
export const REST_PROFILE_USER_ID_KEY = 'user_id';
const BUCKET_MAP_KEY = 'experiment_bucket_map';

/** A lookup or save of Agent's REST profile service plugin, read from its body or query string. */
export interface RestProfileRequest {
  /** The key the user id came under (the plugin's `userIDKey`): the answer uses it too. */
  userIdKey: string;
  userId: string;
  /** A save's whole profile; undefined for a lookup. */
  buckets?: Record<string, { variation_id: string }>;
}

const bucketMapSchema = z
  .record(z.string(), z.object({ variation_id: z.string().check(z.minLength(1)) }))
  .check(
    z.refine(
      (map) => Object.keys(map).length <= MAX_PROFILE_EXPERIMENTS,
      `at most ${MAX_PROFILE_EXPERIMENTS} experiments`,
    ),
  );

/**
 * Agent's REST profile service plugin sends `{"<userIDKey>": "<user id>"}` to look up and adds
 * `"experiment_bucket_map": {"<experiment id>": {"variation_id": "…"}}` to save (as a JSON string in
 * the query when its method is GET). The user-id key is `user_id` unless the plugin names another:
 * then it is the one other string field. `params` is the parsed body, or the query's values.
 */
export function restProfileRequest(
  params: Record<string, unknown>,
  limits: RequestLimits,
  save: boolean,
): RestProfileRequest {
  const candidates = Object.keys(params).filter(
    (key) => key !== BUCKET_MAP_KEY && typeof params[key] === 'string',
  );
  const userIdKey =
    REST_PROFILE_USER_ID_KEY in params
      ? REST_PROFILE_USER_ID_KEY
      : candidates.length === 1
        ? candidates[0]
        : undefined;
  if (userIdKey === undefined) {
    throw new InvalidRequestError(
      `missing "${REST_PROFILE_USER_ID_KEY}" in request: send the user id under "${REST_PROFILE_USER_ID_KEY}", or under the plugin's userIDKey as the only other field`,
    );
  }
  const userId = identifierText(
    userIdKey,
    limits.maxIdentifierBytes,
    'MAX_IDENTIFIER_BYTES',
    `${userIdKey} must not be empty`,
  ).safeParse(params[userIdKey]);
  if (!userId.success) throw new InvalidRequestError(z.describeIssues(userId.error, userIdKey));
  if (!save) return { userIdKey, userId: userId.data };
  let raw = params[BUCKET_MAP_KEY] ?? {};
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new InvalidRequestError(`${BUCKET_MAP_KEY}: not valid JSON`);
    }
  }
  const key = reservedKeyIn(raw);
  if (key !== undefined) throw new InvalidRequestError(`${BUCKET_MAP_KEY}: the key "${key}" is not allowed`);
  // Parsed under its own name, so a problem's path starts with it.
  const parsed = z.object({ [BUCKET_MAP_KEY]: bucketMapSchema }).safeParse({ [BUCKET_MAP_KEY]: raw });
  if (!parsed.success) throw new InvalidRequestError(z.describeIssues(parsed.error));
  return { userIdKey, userId: userId.data, buckets: parsed.data[BUCKET_MAP_KEY] };
}
