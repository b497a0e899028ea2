/**
 * after-response outside Lambda (no Runtime API): deferred work runs at once, is awaited by drain(),
 * and is dropped instead while the local server simulates a killed process.
 */
import { describe, expect, it } from '@jest/globals';
import { dropDeferredWork } from '../../scripts/local/drop-deferred-work';
import { createAfterResponse } from '../../src/platform/lambda/after-response';
import { createObservability, silent } from '../../src/platform/observability/logger';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued reaction run, so "still pending" is a real observation. */
const settleMicrotasks = () => new Promise((done) => setImmediate(done));

describe('createAfterResponse without a Runtime API', () => {
  it('runs in-process and is ready at once', async () => {
    const afterResponse = createAfterResponse({ runtimeApi: '', logger: silent.logger });

    expect(afterResponse.mode).toBe('in-process');
    expect(await afterResponse.ready).toBe('in-process');
  });

  it('starts deferred work at once and drains only when every item has settled, including items deferred meanwhile', async () => {
    const afterResponse = createAfterResponse({ logger: silent.logger });
    const first = deferred();
    const second = deferred();
    let started = 0;
    afterResponse.defer(() => {
      started++;
      return first.promise;
    });
    let drained = false;
    const drain = afterResponse.drain().then(() => {
      drained = true;
    });

    await settleMicrotasks();
    expect(started).toBe(1);
    first.resolve();
    afterResponse.defer(() => second.promise);
    await settleMicrotasks();
    expect(drained).toBe(false);

    second.resolve();
    await drain;
    expect(drained).toBe(true);
  });

  it('drains at once when nothing was deferred', async () => {
    await expect(createAfterResponse({ logger: silent.logger }).drain()).resolves.toBeUndefined();
  });

  it('logs work that rejects or throws instead of rejecting drain', async () => {
    const logged: Record<string, unknown>[] = [];
    const { logger } = createObservability({
      level: 'warn',
      metrics: 'off',
      write: (_level, line) => logged.push(JSON.parse(line)),
    });
    const afterResponse = createAfterResponse({ logger });
    const failing = deferred();
    afterResponse.defer(() => failing.promise);
    afterResponse.defer(() => {
      throw new Error('thrown before any promise');
    });

    failing.reject(new Error('event endpoint unreachable'));
    await afterResponse.drain();

    expect(logged.map(({ message, error }) => ({ message, error }))).toEqual([
      { message: 'after-response: deferred work failed', error: 'thrown before any promise' },
      { message: 'after-response: deferred work failed', error: 'event endpoint unreachable' },
    ]);
  });

  it('treats finished as a no-op: nothing holds an invocation open outside Lambda', async () => {
    const afterResponse = createAfterResponse({ logger: silent.logger });
    const work = deferred();
    afterResponse.defer(() => work.promise);

    afterResponse.finished('request-3');
    work.resolve();

    await expect(afterResponse.drain()).resolves.toBeUndefined();
    expect(afterResponse.mode).toBe('in-process');
  });

  it('drops deferred work unrun while simulating a killed process', async () => {
    const afterResponse = createAfterResponse({ logger: silent.logger });
    let ran = 0;
    afterResponse.defer(async () => {
      ran++;
    });
    await afterResponse.drain();
    expect(ran).toBe(1);

    dropDeferredWork(afterResponse);
    afterResponse.defer(async () => {
      ran++;
    });
    await afterResponse.drain();
    expect(ran).toBe(1);
  });
});
