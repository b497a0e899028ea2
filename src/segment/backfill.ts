// Over 300 lines on purpose: one streamed run: reading, batching, checkpoints and the ingest pipeline share the run's state.
/**
 * A backfill: an existing Segment history loaded into the identity graph through the same ingest
 * rules as the webhook (docs/profile-api.md, "Backfill"). Sources: Segment's S3 archive (gzipped
 * NDJSON of Segment messages, each checked exactly as the webhook checks an event) and Profiles Sync
 * exports (profiles-sync.ts), chosen per file from its content.
 *
 * - Streamed: one file at a time, line by line (records.ts), in bounded memory whatever its size.
 * - Batched harder than the webhook can: BATCH_SIZE changes per ingest (events of one person in a
 *   batch become one write), the next batch read while the last is written, and no messageId marker
 *   except for deletes (`messageMarkers: 'deletes'`: a change applied again changes nothing, and a
 *   no-op writes nothing). Running it twice gives the same graph; the webhook may run meanwhile
 *   (its writes and the backfill's are conditioned on what each read, as two webhook calls are).
 * - Resumable: after each batch, a checkpoint (file, line, totals) is stored; a run with the same run
 *   id (by default: derived from the source) continues after it.
 * - A line that cannot be used is reported (file, line, reason) and skipped; it never stops the run.
 */
import { createHash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import type { IdentityChange } from '../identity/graph';
import { type IngestOptions, ingestChanges } from '../identity/ingest';
import type { IdentityRules } from '../identity/rules';
import type { BackfillCheckpoints, BackfillTotals } from './backfill-checkpoints';
import type { BackfillFile } from './backfill-sources';
import { changeProblem, type EventLimits } from './event-rules';
import { checkSegmentEvent } from './ingest-events';
import { type SyncRow, sameGroup, syncChange, syncRow } from './profiles-sync';
import { decompressed, fileRecords, linesOf } from './records';

/**
 * Changes per ingest call: a person's events in one batch become one write of their items, so the
 * larger the batch, the fewer writes (25,000 changes hold a few tens of MB).
 */
export const BATCH_SIZE = 25_000;
/**
 * Batches being written at once (the next is read meanwhile). Two at once measured slower on
 * DynamoDB Local: consecutive batches share people, and their conditioned writes then conflict.
 */
const WRITE_DEPTH = 1;
/** Rows of one profile in one change at most (Segment's hard limit is 1,000 identifiers a profile). */
const MAX_GROUP_ROWS = 1_000;

export interface RejectedLine {
  file: string;
  line: number;
  /** The last line of a group of rows (one profile of a Profiles Sync table). */
  lastLine?: number;
  reason: string;
}

export interface BackfillProgress {
  files: number;
  filesDone: number;
  bytes: number;
  bytesTotal: number | undefined;
  lines: number;
  accepted: number;
  rejected: number;
  /** Lines per second since this run started. */
  perSecond: number;
  /** Seconds left, from the bytes read so far (undefined while unknown). */
  etaSeconds: number | undefined;
}

export interface BackfillSummary {
  runId: string;
  /** False when stopped before the end (resume with the same run id). */
  complete: boolean;
  resumedFrom?: { file: string; line: number };
  totals: BackfillTotals;
  seconds: number;
  perSecond: number;
}

/** Where a run writes, and by which rules: what the Lambda entry's dependencies hold (functions/segment-backfill). */
export interface BackfillTarget {
  ingest: IngestOptions;
  limits: EventLimits;
  rules: IdentityRules;
  checkpoints: BackfillCheckpoints;
}

/** One run over a source. */
export interface BackfillRun {
  /** The source as given (names the run). */
  source: string;
  files: readonly BackfillFile[];
  runId?: string;
  /** Ignore a stored checkpoint and start from the first line. */
  restart?: boolean;
  batchSize?: number;
  /** Asked between records: true stops the run after the batch being written (checkpoint kept). */
  shouldStop?: () => boolean;
  onProgress?: (progress: BackfillProgress) => void;
  progressEveryMs?: number;
  onRejected?: (rejected: RejectedLine) => void;
  now?: () => number;
}

/** The run id a source gets unless one is given: the same source resumes the same run. */
export function runIdOf(source: string): string {
  return createHash('sha256').update(source).digest('base64url').slice(0, 16);
}

interface Position {
  fileIndex: number;
  line: number;
}

/** A change to ingest, or a line already refused, in reading order. */
interface Item {
  change?: IdentityChange;
  reason?: string;
  file: string;
  first: number;
  last: number;
  /** Where the run stands once this item is done. */
  after: Position;
}

const emptyTotals = (): BackfillTotals => ({
  lines: 0,
  accepted: 0,
  duplicates: 0,
  rejected: 0,
  profiles: 0,
  identifiers: 0,
  accounts: 0,
});

function dateOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const at = Date.parse(value);
  return Number.isFinite(at) ? at : undefined;
}

export async function runBackfill(target: BackfillTarget, options: BackfillRun): Promise<BackfillSummary> {
  const run = {
    ...options,
    ingest: target.ingest,
    limits: target.limits,
    rules: target.rules,
    checkpoints: target.checkpoints,
  };
  const now = run.now ?? Date.now;
  const started = now();
  const runId = run.runId ?? runIdOf(run.source);
  const batchSize = run.batchSize ?? BATCH_SIZE;
  const stored = run.restart ? null : await run.checkpoints.get(runId);
  const resume: Position | undefined =
    stored && !stored.complete ? { fileIndex: stored.fileIndex, line: stored.line } : undefined;
  const totals = resume && stored ? { ...stored.totals } : emptyTotals();
  const linesAtStart = totals.lines;
  const bytesTotal = run.files.every((f) => f.size !== undefined)
    ? run.files.reduce((n, f) => n + (f.size ?? 0), 0)
    : undefined;
  let bytes = run.files.slice(0, resume?.fileIndex ?? 0).reduce((n, f) => n + (f.size ?? 0), 0);
  const bytesAtStart = bytes;
  let filesDone = resume?.fileIndex ?? 0;
  let lastProgress = started;

  const progress = (): BackfillProgress => {
    const seconds = Math.max(0.001, (now() - started) / 1000);
    const rate = (bytes - bytesAtStart) / seconds;
    return {
      files: run.files.length,
      filesDone,
      bytes,
      bytesTotal,
      lines: totals.lines,
      accepted: totals.accepted,
      rejected: totals.rejected,
      perSecond: (totals.lines - linesAtStart) / seconds,
      etaSeconds: bytesTotal !== undefined && rate > 0 ? Math.max(0, (bytesTotal - bytes) / rate) : undefined,
    };
  };
  const report = () => {
    if (!run.onProgress) return;
    const at = now();
    if (at - lastProgress < (run.progressEveryMs ?? 2_000)) return;
    lastProgress = at;
    run.onProgress(progress());
  };

  const ingest: IngestOptions = { ...run.ingest, messageMarkers: 'deletes' };
  let batch: Item[] = [];
  let batchChanges = 0;

  const reject = (item: Item, reason: string) => {
    totals.rejected++;
    run.onRejected?.({
      file: item.file,
      line: item.first,
      ...(item.last !== item.first ? { lastLine: item.last } : {}),
      reason,
    });
  };

  /**
   * Ingests one batch while the one before it may still be writing (WRITE_DEPTH batches at once:
   * their writes are conditioned on what each read, as concurrent webhook calls' are, so an overlap
   * is a conflict the ingest recomputes), then, in reading order, reports its refusals and stores
   * the checkpoint: a checkpoint never passes a batch that is not written.
   */
  let inOrder: Promise<void> = Promise.resolve();
  const writing: Promise<void>[] = [];
  const write = (items: Item[]): Promise<void> => {
    const changes = items.filter((i) => i.change !== undefined);
    const ingesting =
      changes.length > 0
        ? ingestChanges(
            changes.map((i) => i.change!),
            ingest,
          )
        : Promise.resolve(undefined);
    const before = inOrder;
    const done = (async () => {
      const result = await ingesting;
      await before;
      let k = 0;
      for (const item of items) {
        totals.lines += item.last - item.first + 1;
        if (item.reason !== undefined) {
          reject(item, item.reason);
          continue;
        }
        if (!item.change) continue;
        const outcome = result!.results[k++]!;
        if (outcome.status === 'accepted') totals.accepted++;
        else if (outcome.status === 'duplicate') totals.duplicates++;
        else reject(item, outcome.reason);
      }
      if (result) {
        totals.profiles += result.written.profiles;
        totals.identifiers += result.written.identifiers;
        totals.accounts += result.written.accounts;
      }
      const at = items.at(-1)!.after;
      await run.checkpoints.put({
        runId,
        source: run.source,
        file: run.files[at.fileIndex]?.name ?? '',
        fileIndex: at.fileIndex,
        line: at.line,
        totals: { ...totals },
        complete: false,
        updatedAt: now(),
      });
    })();
    ingesting.catch(() => undefined);
    done.catch(() => undefined);
    inOrder = done;
    return done;
  };

  const flush = async () => {
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    batchChanges = 0;
    if (writing.length >= WRITE_DEPTH) await writing.shift();
    writing.push(write(items));
  };

  const push = async (item: Item) => {
    batch.push(item);
    if (item.change && ++batchChanges >= batchSize) await flush();
  };

  let stopped = false;
  for (let fileIndex = resume?.fileIndex ?? 0; fileIndex < run.files.length && !stopped; fileIndex++) {
    const file = run.files[fileIndex]!;
    const skipUntil = resume && fileIndex === resume.fileIndex ? resume.line : 0;
    const raw = await file.open();
    const counted = pipeline(
      raw,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          callback(null, chunk);
        },
      }),
      () => undefined,
    );
    const records = await fileRecords(linesOf(await decompressed(counted)));
    let group: { rows: SyncRow[]; first: number; last: number } | undefined;
    const flushGroup = async (after: Position) => {
      if (!group) return;
      const { rows, first, last } = group;
      group = undefined;
      const change = syncChange(rows, run.rules);
      const problem = change ? changeProblem(change, run.limits, change.at) : 'no rows';
      await push({
        file: file.name,
        first,
        last,
        after,
        ...(problem ? { reason: problem } : { change: change! }),
      });
    };
    let lastLine = 0;
    for await (const record of records.records) {
      lastLine = record.line;
      if (record.line <= skipUntil) continue;
      if (run.shouldStop?.()) {
        stopped = true;
        break;
      }
      report();
      const here = { fileIndex, line: record.line };
      if ('problem' in record) {
        await push({
          file: file.name,
          first: record.line,
          last: record.line,
          after: here,
          reason: record.problem,
        });
        continue;
      }
      if (records.kind === 'archive') {
        const receivedAt = dateOf(record.value.receivedAt) ?? now();
        const checked = checkSegmentEvent(record.value, run.limits, receivedAt);
        await push({
          file: file.name,
          first: record.line,
          last: record.line,
          after: here,
          ...(checked.ok ? { change: checked.change } : { reason: checked.reason }),
        });
        continue;
      }
      if (records.kind === 'unknown') {
        await push({
          file: file.name,
          first: record.line,
          last: record.line,
          after: here,
          reason: records.why,
        });
        continue;
      }
      const row = syncRow(records.kind, record.value);
      if ('problem' in row) {
        await flushGroup({ fileIndex, line: record.line - 1 });
        await push({
          file: file.name,
          first: record.line,
          last: record.line,
          after: here,
          reason: row.problem,
        });
        continue;
      }
      if (group && (!sameGroup(group.rows[0]!, row) || group.rows.length >= MAX_GROUP_ROWS)) {
        await flushGroup({ fileIndex, line: group.last });
      }
      if (!group) group = { rows: [], first: record.line, last: record.line };
      group.rows.push(row);
      group.last = record.line;
    }
    if (stopped) {
      // The open group is read again on resume: the checkpoint stays before it.
      break;
    }
    await flushGroup({ fileIndex, line: lastLine });
    filesDone = fileIndex + 1;
    // The file is done: a resume starts at the next one.
    await push({
      file: file.name,
      first: lastLine + 1,
      last: lastLine,
      after: { fileIndex: fileIndex + 1, line: 0 },
    });
  }
  await flush();
  for (const pending of writing) await pending;
  const complete = !stopped;
  if (complete) {
    await run.checkpoints.put({
      runId,
      source: run.source,
      file: '',
      fileIndex: run.files.length,
      line: 0,
      totals: { ...totals },
      complete: true,
      updatedAt: now(),
    });
  }
  run.onProgress?.(progress());
  const seconds = (now() - started) / 1000;
  return {
    runId,
    complete,
    ...(resume && stored ? { resumedFrom: { file: stored.file, line: stored.line } } : {}),
    totals,
    seconds,
    perSecond: seconds > 0 ? (totals.lines - linesAtStart) / seconds : 0,
  };
}
