/**
 * The backfill as a Lambda function (no route: invoked on demand, e.g. `aws lambda invoke`), with
 * `{"source": "s3://bucket/prefix"}`: the same run as `npm run backfill` (src/segment/backfill.ts). It
 * stops a minute before its timeout with a checkpoint and answers `complete: false`: invoke it again
 * with the same event to continue. Every rejected line is logged (warn), with its file and line.
 */
import type { Context } from 'aws-lambda';
import { InvalidRequestError } from '../../src/platform/core/errors';
import * as z from '../../src/platform/core/zod';
import { type BackfillSummary, runBackfill } from '../../src/segment/backfill';
import { backfillFiles } from '../../src/segment/backfill-sources';
import type { BackfillDependencies } from './dependencies';

export const backfillEventSchema = z.object({
  source: z.string().check(z.startsWith('s3://', 'source: an s3://bucket/prefix')),
  runId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  restart: z.optional(z.boolean()),
});

/** How long before Lambda's timeout a run stops and stores its checkpoint. */
const STOP_BEFORE_MS = 60_000;

export type BackfillHandler = (
  event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
) => Promise<BackfillSummary>;

export function createBackfillHandler(deps: BackfillDependencies): BackfillHandler {
  const { logger } = deps.observability;
  return async (event, context) => {
    const parsed = backfillEventSchema.safeParse(event);
    if (!parsed.success) throw new InvalidRequestError(z.describeIssues(parsed.error, 'event'));
    const { source, runId, restart } = parsed.data;
    const files = await backfillFiles(source, deps.s3);
    const summary = await runBackfill(deps, {
      source,
      files,
      ...(runId ? { runId } : {}),
      ...(restart ? { restart } : {}),
      shouldStop: () => context.getRemainingTimeInMillis() < STOP_BEFORE_MS,
      onRejected: (rejected) => logger.warn('backfill line rejected', { ...rejected }),
      onProgress: (progress) => logger.info('backfill progress', { ...progress }),
      progressEveryMs: 10_000,
    });
    logger.info('backfill run', { ...summary });
    return summary;
  };
}
