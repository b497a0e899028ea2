/**
 * Structured JSON logs (one line per entry, CloudWatch-friendly) and CloudWatch metrics through the
 * Embedded Metric Format, so no metrics API call sits on the request path.
 *
 * Entry points build one `Observability` per container from the configuration and hand it to the
 * domain objects that log; domain modules never build their own. Every line written while a
 * request runs carries that request's context (request id, trace id, route, cold start), set once
 * by the shared HTTP wrapper through `withLogContext` (or with the request's other parts in one go),
 * in the request's scope (platform/core/request-scope.ts), which keeps concurrent requests of the
 * local server apart.
 */
import { requestScope, withinScope } from '../core/request-scope';
import { sourceMappedStack } from './stack-trace';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type EntryLevel = Exclude<LogLevel, 'silent'>;
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

export type MetricUnit = 'Count' | 'Milliseconds' | 'Microseconds' | 'Seconds' | 'Bytes' | 'None';

export interface Metrics {
  /** Emits one CloudWatch metric under the `Crosswalk` namespace. */
  metric(name: string, value: number, unit?: MetricUnit, dimensions?: Record<string, string>): void;
}

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

export interface LogContext {
  requestId?: string;
  traceId?: string;
  route?: string;
  function?: string;
  coldStart?: boolean;
}

declare module '../core/request-scope' {
  interface RequestScope {
    /** What every log line written for the request carries. */
    readonly log?: LogContext;
  }
}

/** Runs `fn` with `context` attached to every log line written inside it. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return withinScope({ log: context }, fn);
}

export type LineWriter = (level: EntryLevel, line: string) => void;

const writeToStdio: LineWriter = (level, line) => {
  if (level === 'error' || level === 'warn') process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
};

export function createObservability(options: {
  level: LogLevel;
  metrics: 'on' | 'off';
  write?: LineWriter;
}): Observability {
  const threshold = order[options.level];
  const write = options.write ?? writeToStdio;
  const log = (level: EntryLevel) => (message: string, fields?: Fields) => {
    if (order[level] < threshold) return;
    const context = requestScope().log;
    // Lambda sets the invocation's trace id in the environment; read per line, not per request.
    const traceId = context && context.traceId === undefined ? process.env._X_AMZN_TRACE_ID : undefined;
    const entry = {
      level,
      message,
      time: new Date().toISOString(),
      ...context,
      ...(traceId ? { traceId } : {}),
      ...fields,
    };
    write(level, JSON.stringify(entry, errorReplacer));
  };
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const metrics: Metrics = {
    metric(name, value, unit = 'Count', dimensions = {}) {
      if (options.metrics === 'off') return;
      const line = {
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: 'Crosswalk',
              Dimensions: [Object.keys(dimensions)],
              Metrics: [{ Name: name, Unit: unit }],
            },
          ],
        },
        ...dimensions,
        [name]: value,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    },
  };
  return { logger, metrics };
}

/** Logs and metrics that go nowhere: the default of domain objects built without observability. */
export const silent: Observability = createObservability({ level: 'silent', metrics: 'off' });

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const stack = value.stack === undefined ? undefined : sourceMappedStack(value.stack);
    return { name: value.name, message: value.message, stack, cause: value.cause };
  }
  return value;
}
