/**
 * Optimizely event batches, a scripted sender and recording observability for the event path's unit
 * tests; what an app's SDK clients produce and what reached a loopback event API, for the
 * integration tests.
 */
import { type EventBatch, eventUuids } from '../../src/events/event-batch';
import type { EventSender, SendOutcome } from '../../src/events/event-sender';
import type { LogEvent } from '../../src/optimizely/sdk';
import type { Logger, Observability } from '../../src/platform/observability/logger';

/** A batch with one conversion event per uuid, all at `timestamp`. */
export function eventBatch(uuids: readonly string[], timestamp = Date.now()): EventBatch {
  return {
    account_id: '1',
    project_id: '2',
    revision: '3',
    client_name: 'node-sdk',
    client_version: '6.6.1',
    anonymize_ip: true,
    enrich_decisions: true,
    visitors: uuids.map((uuid) => ({
      visitor_id: `visitor-${uuid}`,
      attributes: [],
      snapshots: [{ events: [{ entity_id: '9', key: 'purchase', uuid, timestamp }] }],
    })),
  };
}

/** A sender answering from a script (the last outcome repeats), recording what it was given. */
export class ScriptedSender implements EventSender {
  readonly sent: EventBatch[] = [];
  constructor(public outcomes: SendOutcome[]) {}

  async send(batch: EventBatch): Promise<SendOutcome> {
    this.sent.push(batch);
    return (this.outcomes.length > 1 ? this.outcomes.shift() : this.outcomes[0]) ?? { kind: 'delivered' };
  }
}

export const delivered: SendOutcome = { kind: 'delivered' };
export const unavailable: SendOutcome = { kind: 'retry', reason: 'event endpoint answered 503' };
export const refused: SendOutcome = { kind: 'rejected', reason: 'event endpoint answered 400', status: 400 };

/** Observability that keeps what was logged and counted. */
export function recordingObservability(): Observability & {
  logged: { level: string; message: string; fields: Record<string, unknown> }[];
  counted: Record<string, number>;
} {
  const logged: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const counted: Record<string, number> = {};
  const log =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      logged.push({ level, message, fields });
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  return {
    logger,
    metrics: {
      metric: (name, value) => {
        counted[name] = (counted[name] ?? 0) + value;
      },
    },
    logged,
    counted,
  };
}

/** Every event uuid an app's SDK clients produce, recorded as they are dispatched. */
export function recordProduced(app: {
  decide: { decisions: { dispatcher: { dispatchEvent(event: LogEvent): unknown } } };
}): {
  decisions: Set<string>;
  conversions: Set<string>;
} {
  const produced = { decisions: new Set<string>(), conversions: new Set<string>() };
  const dispatcher = app.decide.decisions.dispatcher;
  const dispatch = dispatcher.dispatchEvent.bind(dispatcher);
  dispatcher.dispatchEvent = (event: LogEvent) => {
    for (const visitor of event.params.visitors)
      for (const snapshot of visitor.snapshots)
        for (const e of snapshot.events)
          (e.key === 'campaign_activated' ? produced.decisions : produced.conversions).add(e.uuid);
    return dispatch(event);
  };
  return produced;
}

/** How many times each event uuid reached a loopback event API. */
export function arrivals(batches: readonly unknown[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const batch of batches)
    for (const uuid of eventUuids(batch as EventBatch)) counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
  return counts;
}
