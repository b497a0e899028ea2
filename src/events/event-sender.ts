/**
 * One POST of an event batch to Optimizely's event API, and what its outcome means for the batch:
 * delivered (2xx), worth retrying later (429, 5xx, 3xx, timeout, network), or rejected for good
 * (any other 4xx: the same bytes will be refused again). Within one call a network error or 5xx is
 * tried again at once (`attempts`): a keep-alive socket the server closed is the common case.
 *
 * Two bounds: the send timeout, counted from when the request has a socket (a request queued
 * behind slow ones is not timed out unsent) and shared by the retries; and the request's deadline
 * (platform/core/deadline.ts) less the time storing the batch would take, which bounds the queueing too, so
 * a slow event API never holds an invocation past its timeout, and a batch it did not take is
 * still stored for redelivery in time.
 */
import { timeLeft } from '../platform/core/deadline';
import { type OutboundFetch, outboundFetch } from '../platform/http/outbound';
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

/** Kept before the request's deadline for storing a batch the event API did not take. */
export const STORE_RESERVE_MS = 1_000;

export function createEventSender(options: EventSenderOptions): EventSender {
  const fetchFn = options.fetchFn ?? outboundFetch;
  return {
    async send(batch) {
      const body = JSON.stringify(batch);
      const left = timeLeft(STORE_RESERVE_MS);
      const signal = left === undefined ? undefined : AbortSignal.timeout(left);
      let outcome: SendOutcome = { kind: 'retry', reason: 'not attempted' };
      let started: number | undefined;
      for (let attempt = 1; attempt <= options.attempts && !signal?.aborted; attempt++) {
        // The first attempt has the whole timeout; a retry, what the first left of it.
        const timeoutMs =
          started === undefined ? options.timeoutMs : options.timeoutMs - (Date.now() - started);
        if (timeoutMs <= 0) break;
        started ??= Date.now();
        try {
          const response = await fetchFn(options.endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            timeoutMs,
            ...(signal ? { signal } : {}),
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
            reason: signal?.aborted
              ? 'the request deadline came before the event endpoint answered'
              : timedOut
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
