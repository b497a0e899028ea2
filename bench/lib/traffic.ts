/**
 * Crosswalk's traffic, for the soak (`npm run soak`) and the fault suite (test/integration/faults):
 *
 * - Segment batches about a fixed population. A person's events name only that person's own
 *   identifiers, and every trait and account write has a timestamp of its own, so the final graph
 *   does not depend on order, regrouping or retries: a run with faults must end on the same graph
 *   as a run without.
 * - A Segment-style sender: a batch answered 5xx, 429 or not at all is sent again later (backoff),
 *   other batches meanwhile, until every batch is accepted; any other status is kept as final.
 * - Decides and tracks for those people (and for strangers) as Agent clients send them, counting
 *   the Optimizely events each accepted answer stands for: one decision event per decided flag
 *   (the sample datafile sends flag decisions), one conversion per tracked event.
 * - A fixed-concurrency runner recording every answer: status, duration, Retry-After, the
 *   identity block's `source` when asked for.
 */
import { hmacSha1Hex, segmentSignedPayload } from '../../src/platform/http/webhook-auth';
import { percentile } from './stats';

export interface TrafficTarget {
  url: string;
  /** Sent as x-api-key on decide and track: a client key, or an operator key to see `identity`. */
  apiKey: string;
  segmentToken: string;
  segmentSecret?: string;
  /** Ask for the identity block (operator keys see it). */
  includeIdentity?: boolean;
}

export type RequestKind = 'segment' | 'decide' | 'track';

export interface Outcome {
  kind: RequestKind;
  /** HTTP status; 0 when no answer came (network error or the client's own timeout). */
  status: number;
  startedAt: number;
  ms: number;
  retryAfter?: string;
  /** `identity.source` of the first decision (decide with includeIdentity). */
  identitySource?: string;
  /** Optimizely events this answer stands for (accepted decides and tracks). */
  events: number;
}

/** Identifiers of person `index` of a run. */
export function person(run: string, index: number) {
  return {
    userId: `${run}-user-${index}`,
    anonymousId: `${run}-anon-${index}`,
    email: `${run}-person-${index}@example.com`,
    accountId: `${run}-account-${index % 7}`,
  };
}

/**
 * Round `round` of person `index`'s events: an identify (user, anonymous id, email), a track
 * (anonymous id, context traits) and a group (account traits). Timestamps are unique per
 * (round, person, call), so last-writer-wins gives one answer whatever the arrival order.
 */
export function personEvents(
  run: string,
  index: number,
  round: number,
  base: number,
): Record<string, unknown>[] {
  const who = person(run, index);
  const at = (offset: number) => new Date(base + round * 1_000 + index * 3 + offset).toISOString();
  const id = (type: string) => `${run}-${index}-${round}-${type}`;
  return [
    {
      type: 'identify',
      messageId: id('identify'),
      timestamp: at(0),
      userId: who.userId,
      anonymousId: who.anonymousId,
      traits: { email: who.email, plan: ['free', 'pro', 'team'][(index + round) % 3], logins: round },
      context: {},
    },
    {
      type: 'track',
      event: 'Product Viewed',
      messageId: id('track'),
      timestamp: at(1),
      anonymousId: who.anonymousId,
      properties: { sku: `sku-${round % 5}` },
      context: { traits: { country: ['fr', 'de', 'us'][round % 3] } },
    },
    {
      type: 'group',
      messageId: id('group'),
      timestamp: at(2),
      userId: who.userId,
      groupId: who.accountId,
      traits: { seats: round + index, industry: 'retail' },
      context: {},
    },
  ];
}

/** Timestamps a run's events are based on: in the recent past, as Segment delivers them. */
export function eventBase(now = Date.now()): number {
  return now - 6 * 3_600_000;
}

async function timed(
  kind: RequestKind,
  request: () => Promise<Response>,
  read: (status: number, body: unknown) => Partial<Outcome> = () => ({}),
): Promise<Outcome> {
  const startedAt = Date.now();
  try {
    const response = await request();
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const retryAfter = response.headers.get('retry-after');
    return {
      kind,
      status: response.status,
      startedAt,
      ms: Date.now() - startedAt,
      events: 0,
      ...(retryAfter ? { retryAfter } : {}),
      ...read(response.status, body),
    };
  } catch {
    return { kind, status: 0, startedAt, ms: Date.now() - startedAt, events: 0 };
  }
}

/** Longer than any function's timeout: a request still open then is counted as unanswered. */
const CLIENT_TIMEOUT_MS = 60_000;

export function postSegment(target: TrafficTarget, events: unknown[]): Promise<Outcome> {
  const body = JSON.stringify(events);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Segment (Actions)',
    'x-crosswalk-token': target.segmentToken,
  };
  const signed = segmentSignedPayload(body, events);
  if (target.segmentSecret && signed !== undefined)
    headers['x-signature'] = hmacSha1Hex(target.segmentSecret, signed);
  return timed('segment', () =>
    fetch(`${target.url}/webhooks/segment`, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    }),
  );
}

export const DECIDE_KEYS = ['checkout_redesign', 'search_ranking', 'team_dashboard'];

/** A decide for `who` (a userId, or an anonymous id through Crosswalk's `identifiers`). */
export function postDecide(
  target: TrafficTarget,
  who: { userId?: string; anonymousId?: string },
  keys: readonly string[] = DECIDE_KEYS,
): Promise<Outcome> {
  const query = keys.map((k) => `keys=${encodeURIComponent(k)}`);
  if (target.includeIdentity) query.push('includeIdentity=true');
  const body = {
    ...(who.userId ? { userId: who.userId } : {}),
    ...(who.anonymousId ? { identifiers: { anonymous_id: who.anonymousId } } : {}),
    userAttributes: { plan: 'pro' },
  };
  return timed(
    'decide',
    () =>
      fetch(`${target.url}/v1/decide?${query.join('&')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': target.apiKey },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      }),
    (status, answer) => {
      if (status !== 200) return {};
      const decisions = (Array.isArray(answer) ? answer : [answer]) as {
        ruleKey?: string;
        identity?: { source?: string };
      }[];
      const source = decisions[0]?.identity?.source;
      // One decision event per decided flag: every flag of the sample datafile has a rule that
      // matches everyone, and it sends flag decisions.
      return {
        events: decisions.filter((d) => d.ruleKey).length,
        ...(source ? { identitySource: source } : {}),
      };
    },
  );
}

export function postTrack(target: TrafficTarget, userId: string, revenue: number): Promise<Outcome> {
  return timed(
    'track',
    () =>
      fetch(`${target.url}/v1/track?eventKey=purchase`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': target.apiKey },
        body: JSON.stringify({ userId, eventTags: { revenue } }),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      }),
    (status, answer) =>
      // A 200 without `error` stands for one stored (or delivered) conversion.
      status === 200 && !(answer as { error?: string }).error ? { events: 1 } : {},
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends batches the way Segment's destination does: a batch answered 5xx, 429 or not at all
 * waits (exponential backoff with jitter, from `baseMs` up to `maxMs`) and is sent again, while
 * other batches go meanwhile; `settled()` resolves once every batch has a final answer.
 */
export class SegmentSender {
  readonly outcomes: Outcome[] = [];
  /** Final status of each batch, in the order they were handed over. */
  readonly finals: number[] = [];
  /** Attempts beyond the first, over every batch. */
  retries = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private cancelled = false;

  constructor(
    private readonly target: TrafficTarget,
    private readonly options: { baseMs?: number; maxMs?: number; maxAttempts?: number } = {},
  ) {}

  /** Sends `batch` until it gets a final answer; resolves with that status. */
  send(batch: unknown[]): Promise<number> {
    const slot = this.finals.push(-1) - 1;
    const done = (async () => {
      for (let attempt = 0; ; attempt++) {
        const outcome = await postSegment(this.target, batch);
        this.outcomes.push(outcome);
        const retryable = outcome.status === 0 || outcome.status === 429 || outcome.status >= 500;
        if (!retryable || this.cancelled || attempt + 1 >= (this.options.maxAttempts ?? 1_000)) {
          this.finals[slot] = outcome.status;
          return;
        }
        this.retries++;
        const cap = Math.min(this.options.maxMs ?? 2_000, (this.options.baseMs ?? 100) * 2 ** attempt);
        await sleep(cap / 2 + (Math.random() * cap) / 2);
      }
    })();
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done.then(() => this.finals[slot]!);
  }

  /** Stops retrying: every batch still waiting keeps its last status (a test that failed cleans up). */
  cancel(): void {
    this.cancelled = true;
  }

  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}

/**
 * Runs `next` on `concurrency` workers until `stop()` says so (checked before each request), and
 * records every outcome; each worker waits `pauseMs` between its requests (a client's think time).
 */
export async function runAtConcurrency(
  concurrency: number,
  next: (i: number) => Promise<Outcome>,
  stop: () => boolean,
  record: (outcome: Outcome) => void,
  pauseMs = 0,
): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (!stop()) {
      record(await next(i++));
      if (pauseMs > 0) await sleep(pauseMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export interface Summary {
  requests: number;
  /** Answers that were neither 2xx nor an expected refusal: counted by the caller's rule. */
  byStatus: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  events: number;
}

export function summarize(outcomes: readonly Outcome[]): Summary {
  const byStatus: Record<string, number> = {};
  for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  const ms = outcomes.map((o) => o.ms);
  return {
    requests: outcomes.length,
    byStatus,
    p50Ms: Math.round(percentile(ms, 50)),
    p99Ms: Math.round(percentile(ms, 99)),
    maxMs: ms.reduce((max, v) => Math.max(max, v), 0),
    events: outcomes.reduce((sum, o) => sum + o.events, 0),
  };
}
