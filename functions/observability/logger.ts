/**
 * Structured JSON logs (one line per entry, CloudWatch-friendly) and CloudWatch metrics through the
 * Embedded Metric Format, so no metrics API call sits on the request path.
 */
import { sourceMappedStack } from './stack-trace';

type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function threshold(): number {
  const configured = process.env.LOG_LEVEL as Level | undefined;
  return order[configured ?? 'info'] ?? order.info;
}

function write(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (order[level] < threshold()) return;
  const entry = { level, message, time: new Date().toISOString(), ...fields };
  const line = JSON.stringify(entry, errorReplacer);
  if (level === 'error' || level === 'warn') process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const stack = value.stack === undefined ? undefined : sourceMappedStack(value.stack);
    return { name: value.name, message: value.message, stack, cause: value.cause };
  }
  return value;
}

export const logger = {
  debug: (message: string, fields?: Record<string, unknown>) => write('debug', message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
};

export type MetricUnit = 'Count' | 'Milliseconds' | 'Microseconds' | 'Bytes' | 'None';

/** Emits one CloudWatch metric through EMF under the `Crosswalk` namespace. */
export function metric(
  name: string,
  value: number,
  unit: MetricUnit = 'Count',
  dimensions: Record<string, string> = {},
): void {
  if (process.env.CROSSWALK_METRICS === 'off') return;
  const dimensionKeys = Object.keys(dimensions);
  const line = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        { Namespace: 'Crosswalk', Dimensions: [dimensionKeys], Metrics: [{ Name: name, Unit: unit }] },
      ],
    },
    ...dimensions,
    [name]: value,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
