/**
 * One POST of an event batch to Optimizely's event API, and what its outcome means for the batch:
 * delivered (2xx), worth retrying later (429, 5xx, 3xx, timeout, network), or rejected for good
 * (any other 4xx: the same bytes will be refused again). Within one call a network error or 5xx is
 * tried again at once (`attempts`): a keep-alive socket the server closed is the common case. One
 * timeout bounds the whole call, retries included, so a send never holds an invocation longer.
 */
import { type OutboundFetch, outboundFetch } from '../http/outbound';
import type { EventBatch } from './event-batch';

export type SendOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; reason: string }
  | { kind: 'rejected'; reason: string; status: number };

export interface EventSender {
  send(batch: EventBatch): Promise<SendOutcome>;
}

export interface EventSenderOptions {
  endpoint: string;
  timeoutMs: number;
  /** Tries per call, within the one timeout; 1 for the redelivery function, which retries across runs instead. */
  attempts: number;
  fetchFn?: OutboundFetch;
}

export function createEventSender(options: EventSenderOptions): EventSender {
  const fetchFn = options.fetchFn ?? outboundFetch;
  return {
    async send(batch) {
      const body = JSON.stringify(batch);
      const signal = AbortSignal.timeout(options.timeoutMs);
      let outcome: SendOutcome = { kind: 'retry', reason: 'not attempted' };
      for (let attempt = 1; attempt <= options.attempts && !signal.aborted; attempt++) {
        try {
          const response = await fetchFn(options.endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal,
          });
          // Drain the body so the keep-alive connection goes back to the pool.
          await response.text().catch(() => undefined);
          if (response.ok) return { kind: 'delivered' };
          const reason = `event endpoint answered ${response.status}`;
          if (response.status >= 400 && response.status < 500 && response.status !== 429) {
            return { kind: 'rejected', reason, status: response.status };
          }
          outcome = { kind: 'retry', reason };
          // Throttled: asking again at once would only be throttled again.
          if (response.status === 429) break;
        } catch (error) {
          const timedOut = (error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError';
          outcome = {
            kind: 'retry',
            reason: timedOut
              ? `event endpoint did not answer within ${options.timeoutMs} ms`
              : `event delivery failed: ${(error as Error).message}`,
          };
          // The budget is spent; the outbox retries later instead.
          if (timedOut) break;
        }
      }
      return outcome;
    },
  };
}
