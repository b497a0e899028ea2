/** The request's deadline carried with its async context (src/platform/core/deadline.ts). */
import { describe, expect, it } from '@jest/globals';
import { beforeDeadline, currentDeadline, timeLeft, withDeadline } from '../../../src/platform/core/deadline';

describe('the request deadline', () => {
  it('is absent outside a scope, and the earlier of two nested ones inside', async () => {
    expect(currentDeadline()).toBeUndefined();
    expect(timeLeft()).toBeUndefined();
    const at = Date.now() + 10_000;
    await withDeadline(at, async () => {
      expect(currentDeadline()).toBe(at);
      await withDeadline(at + 5_000, async () => expect(currentDeadline()).toBe(at));
      await withDeadline(at - 5_000, async () => expect(currentDeadline()).toBe(at - 5_000));
      // Carried across awaits and timers, as deferred work is.
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(currentDeadline()).toBe(at);
      expect(timeLeft(20_000)).toBe(0);
    });
  });

  it('stops waiting for work still running when it passes, and lets finished work through', async () => {
    const never = new Promise<string>(() => undefined);
    await expect(
      withDeadline(Date.now() + 20, () => beforeDeadline(never, () => new Error('too late'))),
    ).rejects.toThrow('too late');
    await expect(
      withDeadline(Date.now() + 1_000, () => beforeDeadline(Promise.resolve('done'), () => new Error('x'))),
    ).resolves.toBe('done');
    // Without a deadline the work is awaited as it is.
    await expect(beforeDeadline(Promise.resolve(1), () => new Error('x'))).resolves.toBe(1);
  });
});
