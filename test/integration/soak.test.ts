/**
 * The soak's one-minute variant (`npm run soak -- --minutes 1`, bench/lib/soak.ts): `npm start` in a
 * process of its own, on loopback, under the fixed mix of Segment batches, decides and tracks.
 * Counts only: every request answered 200, every kind of request served, and every Optimizely event
 * the answers stand for at the local sink or waiting in the outbox. Throughput, latencies and
 * memory are printed (SOAK_REPORT=1), not asserted: a minute on a shared machine says nothing
 * about them, and the memory check needs the full soak's warm-up.
 */
import { describe, expect, it } from '@jest/globals';
import { soak } from '../../bench/lib/soak';

describe('a one-minute soak against npm start', () => {
  it('answers every request and accounts for every event', async () => {
    const lines: string[] = [];
    const result = await soak({
      minutes: 1,
      concurrency: 4,
      reportSeconds: 30,
      log: (line) => lines.push(line),
    });
    if (process.env.SOAK_REPORT) process.stderr.write(`${lines.join('\n')}\n`);
    expect(result.errors).toBe(0);
    expect(result.byKind.segment?.requests).toBeGreaterThan(0);
    expect(result.byKind.decide?.requests).toBeGreaterThan(0);
    expect(result.byKind.track?.requests).toBeGreaterThan(0);
    expect(result.events.produced).toBeGreaterThan(0);
    expect(result.events.missing).toBe(0);
    expect(result.events.delivered + result.events.waiting).toBeGreaterThanOrEqual(result.events.produced);
  }, 180_000);
});
