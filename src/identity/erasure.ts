/**
 * A Segment delete's follow-up: erase what Crosswalk derived from the deleted person outside the
 * identity graph. The delete itself (ingest) removes the profile and writes tombstones and, in the
 * same transaction, an erasure job naming the person's identifiers; each run of the redelivery
 * function (every minute, and before it sends anything) takes the pending jobs and removes:
 *
 * - the saved user profiles (`UPS#`) of every experiment id the person may have been decided on,
 *   in every project (the configured SDK keys and those with saved profiles, see the registry in
 *   agent/dynamodb/stores.ts);
 * - their overrides (`OVERRIDE#`), in every project that has overrides;
 * - their events still queued in the outbox (not delivered to Optimizely yet).
 *
 * A job is deleted only once all of this is done; a failure leaves it for the next run (every step
 * is idempotent). docs/segment-setup.md lists what remains after a delete, and for how long.
 */

import type { OverrideStore, UserProfileStore } from '../agent/stores';
import type { OutboxEraser } from '../events/outbox';
import type { Observability } from '../platform/observability/logger';
import type { ErasureJobs } from './erasure-jobs';
import type { ExperimentIds } from './experiment-id';

export interface ErasureDependencies {
  jobs: ErasureJobs;
  experimentIds: ExperimentIds;
  /** Null when the deployment keeps no profiles / overrides (nothing of them to erase). */
  profiles: UserProfileStore | null;
  overrides: OverrideStore | null;
  outbox: OutboxEraser;
  /** SDK keys named by the configuration (OPTIMIZELY_SDK_KEY, OPTIMIZELY_SDK_KEYS without `*`). */
  configuredSdkKeys: readonly string[];
  observability: Observability;
}

export interface ErasureReport {
  /** Jobs completed (and deleted) by this run. */
  jobs: number;
  /** Jobs left for the next run. */
  pending: number;
  /** Saved profiles deleted. */
  profiles: number;
  overrides: number;
  /** Queued Optimizely events removed. */
  events: number;
}

const CONCURRENCY = 8;

async function pool<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function runErasures(deps: ErasureDependencies): Promise<ErasureReport> {
  const report: ErasureReport = { jobs: 0, pending: 0, profiles: 0, overrides: 0, events: 0 };
  const jobs = await deps.jobs.pending();
  if (jobs.length === 0) return report;
  const { logger, metrics } = deps.observability;
  try {
    // Every pending job at once: one pass over the projects and the outbox for all of them.
    const ids = new Set<string>();
    for (const job of jobs) for (const id of await deps.experimentIds.everyIdOf(job.identifiers)) ids.add(id);

    if (deps.profiles) {
      const profiles = deps.profiles;
      const sdkKeys = [...new Set([...deps.configuredSdkKeys, ...(await profiles.projects())])];
      const deletes = sdkKeys.flatMap((sdkKey) => [...ids].map((id) => [sdkKey, id] as const));
      await pool(deletes, async ([sdkKey, id]) => {
        if (await profiles.remove(sdkKey, id)) report.profiles++;
      });
    }
    if (deps.overrides) {
      const overrides = deps.overrides;
      const sdkKeys = [...new Set([...deps.configuredSdkKeys, ...(await overrides.projects())])];
      for (const sdkKey of sdkKeys) {
        const all = await overrides.list(sdkKey);
        const deletes = [...ids].flatMap((id) =>
          [...(all.get(id)?.keys() ?? [])].map((experimentKey) => [id, experimentKey] as const),
        );
        await pool(deletes, async ([id, experimentKey]) => {
          await overrides.remove(sdkKey, id, experimentKey);
          report.overrides++;
        });
      }
    }
    const outbox = await deps.outbox.eraseVisitors(ids);
    report.events = outbox.events;
    if (!outbox.complete) {
      report.pending = jobs.length;
      return report;
    }
    for (const job of jobs) {
      await deps.jobs.done(job);
      report.jobs++;
    }
    return report;
  } finally {
    report.pending = jobs.length - report.jobs;
    metrics.metric('ErasuresPending', report.pending);
    logger.info('segment deletes erased', { ...report });
  }
}
