/** Small, dependency-free statistics for the benchmark: medians of repetitions, percentiles. */

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] as number;
  const highValue = sorted[high] as number;
  return lowValue + (highValue - lowValue) * (rank - low);
}

function nowNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * Times two workloads in alternating repetitions (A, B, A, B, …) after warming both, so a noisy
 * shared machine slows both alike and the ratio of their medians stays meaningful.
 */
export async function interleavedMicrosPerCall(
  a: () => unknown | Promise<unknown>,
  b: () => unknown | Promise<unknown>,
  options: { iterations: number; repetitions: number; warmup: number },
): Promise<{ a: number; b: number }> {
  for (let i = 0; i < options.warmup; i++) await a();
  for (let i = 0; i < options.warmup; i++) await b();
  const samplesA: number[] = [];
  const samplesB: number[] = [];
  for (let r = 0; r < options.repetitions; r++) {
    for (const [fn, samples] of [
      [a, samplesA],
      [b, samplesB],
    ] as const) {
      const start = nowNs();
      for (let i = 0; i < options.iterations; i++) await fn();
      samples.push(Number(nowNs() - start) / 1_000 / options.iterations);
    }
  }
  return { a: median(samplesA), b: median(samplesB) };
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
