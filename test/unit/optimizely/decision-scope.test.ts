/**
 * The decision scope the SDK's callbacks report to (src/optimizely/decision-scope.ts): held for a
 * synchronous decision, carried in the request's scope for one that may await, so interleaved
 * decisions never see each other's events or profile.
 */
import { describe, expect, it } from '@jest/globals';
import type { EventBatch } from '../../../src/events/event-batch';
import { currentDecision, runDecision, withoutProfile } from '../../../src/optimizely/decision-scope';
import { currentDeadline, withDeadline } from '../../../src/platform/core/deadline';

const event = (visitor: string) => ({ visitors: [{ visitor_id: visitor }] }) as unknown as EventBatch;
const dispatch = (visitor: string) => currentDecision()?.events.push(event(visitor));
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('decision scope', () => {
  it('collects what a synchronous decision dispatches, and knows no decision outside one', () => {
    const decided = runDecision(
      null,
      () => {
        dispatch('a');
        return 42;
      },
      false,
    );
    expect(decided).toEqual({ result: 42, batches: [event('a')], saved: null });
    expect(currentDecision()).toBeUndefined();
  });

  it('keeps interleaved awaited decisions apart', async () => {
    const decide = (visitor: string) =>
      runDecision(
        { userId: visitor, buckets: {}, saved: null },
        async () => {
          await tick();
          dispatch(visitor);
          const profile = currentDecision()?.profile;
          if (profile) profile.saved = { exp: { variation_id: visitor } };
          return visitor;
        },
        true,
      );
    const [a, b] = await Promise.all([decide('a'), decide('b')]);
    expect(a).toEqual({ result: 'a', batches: [event('a')], saved: { exp: { variation_id: 'a' } } });
    expect(b).toEqual({ result: 'b', batches: [event('b')], saved: { exp: { variation_id: 'b' } } });
  });

  it('fails a decision said to be synchronous that awaits, rather than lose its events', () => {
    expect(() => runDecision(null, async () => 1, false)).toThrow(/awaited/);
  });

  it('runs part of a decision without its profile, its events still the decision’s', async () => {
    const profile = { userId: 'u', buckets: {}, saved: null };
    for (const mayAwait of [false, true]) {
      const seen: unknown[] = [];
      const decided = await runDecision(
        profile,
        () => {
          withoutProfile(() => {
            seen.push(currentDecision()?.profile);
            dispatch('inner');
          });
          seen.push(currentDecision()?.profile);
          return 'done';
        },
        mayAwait,
      );
      expect(seen).toEqual([null, profile]);
      expect(decided.batches).toEqual([event('inner')]);
    }
  });

  it('leaves the rest of the request scope as it is (the deadline)', async () => {
    const at = Date.now() + 10_000;
    await withDeadline(at, () =>
      runDecision(
        null,
        async () => {
          await tick();
          expect(currentDeadline()).toBe(at);
        },
        true,
      ),
    );
  });
});
