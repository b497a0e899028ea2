/**
 * The Optimizely event dispatcher Crosswalk gives the SDK (through its forwarding event processor).
 *
 * The SDK's own processors are unsafe in Lambda: the batch processor holds events up to 30 s and
 * `close()` returns before dispatch finishes, so a frozen container loses them. Here every event is
 * POSTed at once (fetch keeps connections alive), each pending delivery is kept, and the handler
 * awaits them through `capture()` before it answers, so no event outlives its invocation.
 * `capture()` scopes deliveries to one request with AsyncLocalStorage (the forwarding processor
 * dispatches synchronously inside decide/track), so concurrent requests on the local server do not
 * wait for or report each other's events.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventDispatcher, LogEvent } from '@optimizely/optimizely-sdk';

const TIMEOUT_MS = 3_000;
const ATTEMPTS = 2;

export interface DeliveryReport {
  dispatched: number;
  failed: number;
  errors: string[];
}

interface Scope {
  pending: Promise<boolean>[];
  errors: string[];
}

export interface FlushingEventDispatcherOptions {
  endpoint: string;
  fetchFn?: typeof fetch;
  timeoutMs?: number;
  attempts?: number;
}

export class FlushingEventDispatcher implements EventDispatcher {
  private readonly scopes = new AsyncLocalStorage<Scope>();
  /** Deliveries started outside any capture(); flush() awaits them. */
  private readonly orphans = new Set<Promise<boolean>>();
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: FlushingEventDispatcherOptions) {
    this.fetchFn = options.fetchFn ?? fetch;
  }

  dispatchEvent(event: LogEvent): Promise<{ statusCode?: number }> {
    const scope = this.scopes.getStore();
    const delivery = this.deliver(event, scope);
    if (scope) scope.pending.push(delivery);
    else {
      this.orphans.add(delivery);
      void delivery.finally(() => this.orphans.delete(delivery));
    }
    // Never rejects: failures are reported by capture()/flush(), not as unhandled rejections.
    return delivery.then((ok) => ({ statusCode: ok ? 200 : 500 }));
  }

  /** Runs `fn`, then waits for every event it dispatched and reports how delivery went. */
  async capture<T>(fn: () => T | Promise<T>): Promise<{ result: T; delivery: DeliveryReport }> {
    const scope: Scope = { pending: [], errors: [] };
    const result = await this.scopes.run(scope, fn);
    const outcomes = await Promise.all(scope.pending);
    const failed = outcomes.filter((ok) => !ok).length;
    return { result, delivery: { dispatched: outcomes.length, failed, errors: scope.errors } };
  }

  /** Waits for deliveries started outside capture(). */
  async flush(): Promise<void> {
    await Promise.all([...this.orphans]);
  }

  private async deliver(event: LogEvent, scope: Scope | undefined): Promise<boolean> {
    const body = JSON.stringify(event.params);
    const attempts = this.options.attempts ?? ATTEMPTS;
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await this.fetchFn(this.options.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? TIMEOUT_MS),
        });
        // Drain the body so the keep-alive connection goes back to the pool.
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return true;
        lastError = `event endpoint answered ${response.status}`;
        // 4xx other than 429 will not get better by retrying.
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        lastError = `event delivery failed: ${(error as Error).message}`;
      }
    }
    scope?.errors.push(lastError);
    return false;
  }
}
