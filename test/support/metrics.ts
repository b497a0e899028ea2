/**
 * The CloudWatch metrics the functions emit (Embedded Metric Format lines on stdout, with
 * CROSSWALK_METRICS=on), summed by name while a test runs, and kept off the test's output.
 */
export interface CapturedMetrics {
  /** Metric name → sum of the values emitted. */
  readonly counts: Record<string, number>;
  restore(): void;
}

export function captureMetrics(): CapturedMetrics {
  const counts: Record<string, number> = {};
  const stdout = process.stdout;
  const original = stdout.write;
  stdout.write = function write(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    if (!text.startsWith('{"_aws"'))
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    for (const line of text.split('\n')) {
      if (!line) continue;
      const entry = JSON.parse(line) as {
        _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
        [name: string]: unknown;
      };
      for (const { Name } of entry._aws.CloudWatchMetrics.flatMap((m) => m.Metrics)) {
        counts[Name] = (counts[Name] ?? 0) + Number(entry[Name] ?? 0);
      }
    }
    return true;
  } as typeof stdout.write;
  return {
    counts,
    restore: () => {
      stdout.write = original;
    },
  };
}
