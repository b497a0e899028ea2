/**
 * The benchmark's own arithmetic and output format (the figures themselves come from `npm run bench`,
 * never from tests): percentiles, ratios against floors, and the bench-results.json shape.
 */
import { describe, expect, it } from '@jest/globals';
import { Report } from '../../bench/lib/report';
import { interleavedMicrosPerCall, median, percentile, round } from '../../bench/lib/stats';

describe('bench statistics', () => {
  it('takes medians and interpolated percentiles of unsorted samples', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([10, 20, 30, 40, 50], 99)).toBeCloseTo(49.6);
    expect(percentile([], 50)).toBeNaN();
    expect(round(1.23456, 3)).toBe(1.235);
  });
});

describe('interleaved timing', () => {
  it('warms both workloads, then alternates them for every repetition', async () => {
    const order: string[] = [];
    const result = await interleavedMicrosPerCall(
      () => order.push('a'),
      () => order.push('b'),
      { iterations: 2, repetitions: 3, warmup: 1 },
    );
    expect(order.join('')).toBe(`ab${'aabb'.repeat(3)}`);
    // Medians of per-call times: numbers, whatever the machine's speed (never compared to a clock).
    expect(Number.isFinite(result.a) && Number.isFinite(result.b)).toBe(true);
  });
});

describe('bench report', () => {
  it('computes ratios against floors and writes only value, unit, floor and ratio per figure', () => {
    const log = console.log;
    console.log = () => undefined;
    try {
      const report = new Report();
      report.add('decide_warm_us', {
        value: 30,
        unit: 'µs',
        floor: 12,
        target: 'ratio ≤ 2.0',
        check: (f) => (f.ratio ?? 9) <= 2,
      });
      report.add('decide_dynamodb_requests', {
        value: 1,
        unit: 'requests',
        target: '1',
        check: (f) => f.value === 1,
      });
      report.add('http_decide_rps', { value: 812.5, unit: 'req/s' });
      const doc = report.document();
      expect(doc.results).toEqual({
        decide_warm_us: { value: 30, unit: 'µs', floor: 12, ratio: 2.5 },
        decide_dynamodb_requests: { value: 1, unit: 'requests', floor: null, ratio: null },
        http_decide_rps: { value: 812.5, unit: 'req/s', floor: null, ratio: null },
      });
      expect(doc.targets).toEqual({
        decide_warm_us: { target: 'ratio ≤ 2.0', met: false },
        decide_dynamodb_requests: { target: '1', met: true },
      });
      expect(doc.machine).toMatchObject({ node: process.version, cpus: expect.any(Number) });
    } finally {
      console.log = log;
    }
  });
});
