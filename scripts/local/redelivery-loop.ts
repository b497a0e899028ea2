/**
 * The local stand-in for the redelivery function's EventBridge schedule: `npm start` (and the tests
 * that run a local Crosswalk) call the same handler every EVENT_REDELIVERY_INTERVAL_MS, one run at a
 * time, against the local table, so stored events are re-sent without AWS.
 */

import type { RedeliveryHandler } from '../../functions/event-redelivery/handler';
import type { RedeliveryReport } from '../../src/events/redelivery';
import { lambdaContext } from './lambda-context';

export interface RedeliveryLoop {
  /** Runs now (after the run in progress, if any) and resolves with its report. */
  runNow(): Promise<RedeliveryReport>;
  /** Totals over every run so far. */
  readonly totals: { runs: number; redelivered: number; dropped: number };
  /** Stops scheduling and waits for the run in progress. */
  stop(): Promise<void>;
}

const SCHEDULED_EVENT = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };

export function startRedeliveryLoop(options: {
  handler: RedeliveryHandler;
  intervalMs: number;
  onReport?: (report: RedeliveryReport) => void;
  onError?: (error: unknown) => void;
}): RedeliveryLoop {
  const totals = { runs: 0, redelivered: 0, dropped: 0 };
  let running: Promise<RedeliveryReport | undefined> = Promise.resolve(undefined);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const run = (): Promise<RedeliveryReport> => {
    const next = running.then(async () => {
      // The function's 50 s timeout, as deployed: a run stops a little before it.
      const report = await options.handler(SCHEDULED_EVENT, lambdaContext('event-redelivery', 50_000));
      totals.runs++;
      totals.redelivered += report.redelivered;
      totals.dropped += report.dropped;
      options.onReport?.(report);
      return report;
    });
    running = next.catch((error: unknown) => {
      options.onError?.(error);
      return undefined;
    });
    return next;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      run()
        .catch(() => undefined)
        .finally(schedule);
    }, options.intervalMs);
  };
  schedule();

  return {
    runNow: run,
    totals,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
