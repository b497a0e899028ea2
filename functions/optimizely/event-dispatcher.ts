/**
 * The Optimizely event dispatcher Crosswalk gives the SDK (through its forwarding event processor).
 *
 * The SDK's own processors are unsafe in Lambda: the batch processor holds events up to 30 s and
 * `close()` returns before dispatch finishes, so a frozen container loses them. Here the events of
 * one request are collected while it runs (`capture()`; the forwarding processor dispatches
 * synchronously inside decide/track), merged into one batch per project (the event API takes many
 * visitors per batch, as the SDK's batch processor sends them), POSTed at once over keep-alive
 * connections, and awaited before the handler answers, so no event outlives its invocation.
 * AsyncLocalStorage scopes the collection to one request, so concurrent requests on the local
 * server neither wait for nor report each other's events.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventDispatcher, LogEvent } from '@optimizely/optimizely-sdk';
import { type OutboundFetch, outboundFetch } from '../http/outbound';

const TIMEOUT_MS = 3_000;
const ATTEMPTS = 2;
/** Visitors per POST: keeps a payload far below the event API's 3.5 MB. */
const MAX_VISITORS_PER_BATCH = 50;

export interface DeliveryReport {
  /** Events (one per decision or conversion) handed to the dispatcher. */
  dispatched: number;
  /** Events whose batch could not be delivered. */
  failed: number;
  errors: string[];
}

interface Queued {
  event: LogEvent;
  settle: (ok: boolean) => void;
}

interface Scope {
  queued: Queued[];
}

type EventBatchParams = LogEvent['params'];

export interface FlushingEventDispatcherOptions {
  endpoint: string;
  fetchFn?: OutboundFetch;
  timeoutMs?: number;
  attempts?: number;
}

export class FlushingEventDispatcher implements EventDispatcher {
  private readonly scopes = new AsyncLocalStorage<Scope>();
  private readonly fetchFn: OutboundFetch;

  constructor(private readonly options: FlushingEventDispatcherOptions) {
    this.fetchFn = options.fetchFn ?? outboundFetch;
  }

  dispatchEvent(event: LogEvent): Promise<{ statusCode?: number }> {
    const scope = this.scopes.getStore();
    if (scope) {
      // Never rejects: failures are reported by capture(), not as unhandled rejections.
      return new Promise((resolve) => {
        scope.queued.push({ event, settle: (ok) => resolve({ statusCode: ok ? 200 : 500 }) });
      });
    }
    // Outside capture() (nothing in Crosswalk dispatches there): delivered, not awaited by anyone.
    return this.deliver(event.params).then((error) => ({ statusCode: error === null ? 200 : 500 }));
  }

  /** Runs `fn`, then delivers every event it dispatched and reports how delivery went. */
  async capture<T>(fn: () => T | Promise<T>): Promise<{ result: T; delivery: DeliveryReport }> {
    const scope: Scope = { queued: [] };
    const result = await this.scopes.run(scope, fn);
    const report: DeliveryReport = { dispatched: scope.queued.length, failed: 0, errors: [] };
    if (scope.queued.length === 0) return { result, delivery: report };
    await Promise.all(
      batches(scope.queued).map(async ({ params, members }) => {
        const error = await this.deliver(params);
        if (error !== null) {
          report.failed += members.length;
          report.errors.push(error);
        }
        for (const member of members) member.settle(error === null);
      }),
    );
    return { result, delivery: report };
  }

  /** POSTs one batch; null when delivered, else why not. */
  private async deliver(params: EventBatchParams): Promise<string | null> {
    const body = JSON.stringify(params);
    const attempts = this.options.attempts ?? ATTEMPTS;
    let lastError = 'not attempted';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await this.fetchFn(this.options.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? TIMEOUT_MS),
        });
        // Drain the body so the keep-alive connection goes back to the pool.
        await response.text().catch(() => undefined);
        if (response.ok) return null;
        lastError = `event endpoint answered ${response.status}`;
        // 4xx other than 429 will not get better by retrying.
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        lastError = `event delivery failed: ${(error as Error).message}`;
      }
    }
    return lastError;
  }
}

/**
 * Groups queued events whose batch envelopes (account, project, revision, client…) are identical,
 * concatenating their visitors; events from different projects stay in separate batches.
 */
function batches(queued: readonly Queued[]): { params: EventBatchParams; members: Queued[] }[] {
  const groups = new Map<string, { params: EventBatchParams; members: Queued[] }[]>();
  for (const item of queued) {
    const { visitors, ...envelope } = item.event.params;
    const key = JSON.stringify(envelope);
    let list = groups.get(key);
    if (!list) {
      list = [];
      groups.set(key, list);
    }
    let current = list[list.length - 1];
    if (!current || current.params.visitors.length + visitors.length > MAX_VISITORS_PER_BATCH) {
      current = { params: { ...item.event.params, visitors: [] }, members: [] };
      list.push(current);
    }
    current.params.visitors.push(...visitors);
    current.members.push(item);
  }
  return [...groups.values()].flat();
}
