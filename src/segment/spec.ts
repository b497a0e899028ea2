/**
 * Segment Spec events as the webhook receives them (identify, track, page, screen, group, alias and
 * the delete notice). Unknown fields are kept and ignored; only what identity resolution relies on
 * is validated, so a new Segment field never rejects an event.
 */
import * as z from '../platform/core/zod';

/** Segment ids are strings; some libraries send numbers. Empty or null means absent. */
const idValue = z.pipe(
  z.nullish(z.union([z.string(), z.number()])),
  z.transform((v) => (v === null || v === undefined ? undefined : String(v).trim() || undefined)),
);

/**
 * ISO-8601 date-times as Segment writes them (`2026-11-24T09:00:00.000Z`, or with an offset). Not
 * whatever Date.parse accepts: it takes "1" and "+275760-09-13" too.
 */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const timestamp = z.string().check(
  z.refine((s) => ISO_DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)), {
    message: 'must be an ISO-8601 date-time such as 2026-11-24T09:00:00.000Z',
  }),
);

const record = z.record(z.string(), z.unknown());

export const segmentContextSchema = z.looseObject({
  traits: z.optional(record),
  groupId: z.optional(idValue),
  device: z.nullish(
    z.looseObject({
      id: z.optional(idValue),
      type: z.nullish(z.string()),
      advertisingId: z.optional(idValue),
      adTrackingEnabled: z.nullish(z.boolean()),
    }),
  ),
  externalIds: z.nullish(
    z.array(
      z.looseObject({
        id: idValue,
        type: z.string(),
        collection: z.nullish(z.string()),
        encoding: z.nullish(z.string()),
      }),
    ),
  ),
  personas: z.nullish(
    z.looseObject({ computation_class: z.nullish(z.string()), computation_key: z.nullish(z.string()) }),
  ),
});

const base = {
  messageId: z
    .string()
    .check(
      z.minLength(1, 'messageId is required'),
      z.maxLength(100, 'messageId is longer than 100 characters'),
    ),
  timestamp,
  userId: z.optional(idValue),
  anonymousId: z.optional(idValue),
  context: z.nullish(segmentContextSchema),
};

const withIdentity = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.looseObject({ ...base, ...shape }).check(
    z.refine((e) => e.userId !== undefined || e.anonymousId !== undefined, {
      message: 'userId or anonymousId is required',
      path: ['userId'],
    }),
  );

export const identifyEventSchema = withIdentity({ type: z.literal('identify'), traits: z.nullish(record) });
export const trackEventSchema = withIdentity({
  type: z.literal('track'),
  event: z.string().check(z.minLength(1, 'event is required')),
  properties: z.nullish(record),
});
export const pageEventSchema = withIdentity({
  type: z.literal('page'),
  name: z.nullish(z.string()),
  properties: z.nullish(record),
});
export const screenEventSchema = withIdentity({
  type: z.literal('screen'),
  name: z.nullish(z.string()),
  properties: z.nullish(record),
});
export const groupEventSchema = withIdentity({
  type: z.literal('group'),
  groupId: idValue.check(z.refine((v) => v !== undefined, 'groupId is required')),
  traits: z.nullish(record),
});
export const aliasEventSchema = z.looseObject({
  ...base,
  type: z.literal('alias'),
  userId: idValue.check(z.refine((v) => v !== undefined, 'userId is required')),
  previousId: idValue.check(z.refine((v) => v !== undefined, 'previousId is required')),
});
/** Segment's user-deletion notice; the classic form carries no messageId. */
export const deleteEventSchema = z.looseObject({
  type: z.literal('delete'),
  messageId: z.optional(base.messageId),
  timestamp: z.optional(timestamp),
  userId: idValue.check(z.refine((v) => v !== undefined, 'userId is required')),
  context: z.nullish(segmentContextSchema),
});

const schemasByType = {
  identify: identifyEventSchema,
  track: trackEventSchema,
  page: pageEventSchema,
  screen: screenEventSchema,
  group: groupEventSchema,
  alias: aliasEventSchema,
  delete: deleteEventSchema,
} as const;

export type SegmentEventType = keyof typeof schemasByType;
export type IdentifyEvent = z.infer<typeof identifyEventSchema>;
export type TrackEvent = z.infer<typeof trackEventSchema>;
export type PageEvent = z.infer<typeof pageEventSchema>;
export type ScreenEvent = z.infer<typeof screenEventSchema>;
export type GroupEvent = z.infer<typeof groupEventSchema>;
export type AliasEvent = z.infer<typeof aliasEventSchema>;
export type DeleteEvent = z.infer<typeof deleteEventSchema>;
export type SegmentEvent =
  | IdentifyEvent
  | TrackEvent
  | PageEvent
  | ScreenEvent
  | GroupEvent
  | AliasEvent
  | DeleteEvent;
export type SegmentContext = z.infer<typeof segmentContextSchema>;

export type ParsedSegmentEvent = { ok: true; event: SegmentEvent } | { ok: false; reason: string };

/** Validates one event; the reason names the offending field, for the webhook's per-index report. */
export function parseSegmentEvent(input: unknown): ParsedSegmentEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, reason: 'not a Segment event (expected a JSON object)' };
  }
  const type = (input as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in schemasByType)) {
    return {
      ok: false,
      reason: `unsupported type ${JSON.stringify(type ?? null)} (expected one of ${Object.keys(schemasByType).join(', ')})`,
    };
  }
  const result = schemasByType[type as SegmentEventType].safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    return { ok: false, reason: path ? `${path}: ${issue?.message}` : (issue?.message ?? 'invalid event') };
  }
  return { ok: true, event: result.data as SegmentEvent };
}
