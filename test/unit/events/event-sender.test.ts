/** One POST to the event API and what its outcome means (src/events/event-sender.ts). */
import { describe, expect, it } from '@jest/globals';
import { createEventSender, STORE_RESERVE_MS } from '../../../src/events/event-sender';
import { withDeadline } from '../../../src/platform/core/deadline';
import type { OutboundFetch } from '../../../src/platform/http/outbound';
import { eventBatch } from '../../support/events';

/** A fetch answering statuses in turn (the last repeats), or throwing for `'network'`. */
function scriptedFetch(answers: (number | 'network' | 'hang')[]): OutboundFetch & { calls: number } {
  const fetchFn = (async (_url: string, init?: { signal?: AbortSignal; timeoutMs?: number }) => {
    fetchFn.calls++;
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (answer === 'network') throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    if (answer === 'hang') {
      // As outboundFetch does: the timeout (from the socket, at once here) or the deadline's signal.
      return new Promise((_resolve, reject) => {
        const timer = setTimeout(
          () => reject(Object.assign(new Error('no response'), { name: 'TimeoutError' })),
          init?.timeoutMs,
        );
        init?.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(init.signal?.reason);
        });
      });
    }
    const status = answer ?? 204;
    return { status, ok: status < 300, headers: { get: () => null }, text: async () => '' };
  }) as OutboundFetch & { calls: number };
  fetchFn.calls = 0;
  return fetchFn;
}

const send = (answers: (number | 'network' | 'hang')[], attempts = 2, timeoutMs = 1_000) => {
  const fetchFn = scriptedFetch(answers);
  const sender = createEventSender({
    endpoint: 'http://127.0.0.1:9/v1/events',
    timeoutMs,
    attempts,
    fetchFn,
  });
  return sender.send(eventBatch(['u1'])).then((outcome) => ({ outcome, calls: fetchFn.calls }));
};

describe('createEventSender', () => {
  it('calls a 2xx delivered', async () => {
    expect(await send([204])).toEqual({ outcome: { kind: 'delivered' }, calls: 1 });
  });

  it('tries a 5xx or a network error once more at once, then leaves it for the outbox', async () => {
    expect(await send([503, 204])).toEqual({ outcome: { kind: 'delivered' }, calls: 2 });
    expect(await send(['network', 204])).toEqual({ outcome: { kind: 'delivered' }, calls: 2 });
    expect(await send([500])).toEqual({
      outcome: { kind: 'retry', reason: 'event endpoint answered 500' },
      calls: 2,
    });
  });

  it('does not ask again at once after a 429 or a timeout', async () => {
    expect(await send([429])).toEqual({
      outcome: { kind: 'retry', reason: 'event endpoint answered 429' },
      calls: 1,
    });
    const timedOut = await send(['hang'], 2, 20);
    expect(timedOut.calls).toBe(1);
    expect(timedOut.outcome).toEqual({ kind: 'retry', reason: 'event endpoint did not answer within 20 ms' });
  });

  it('gives up at the request deadline, keeping time to store the batch', async () => {
    const outcome = await withDeadline(Date.now() + STORE_RESERVE_MS + 30, () => send(['hang'], 2, 60_000));
    expect(outcome).toEqual({
      outcome: { kind: 'retry', reason: 'the request deadline came before the event endpoint answered' },
      calls: 1,
    });
  });

  it('calls any other 4xx a refusal for good', async () => {
    expect(await send([400])).toEqual({
      outcome: { kind: 'rejected', reason: 'event endpoint answered 400', status: 400 },
      calls: 1,
    });
  });

  it('keeps a redirect for later rather than dropping it (a misconfigured endpoint is fixable)', async () => {
    expect((await send([301], 1)).outcome.kind).toBe('retry');
  });
});
