/**
 * `npm run backfill -- <source>`: loads an existing Segment history into the identity graph
 * (src/segment/backfill.ts; docs/profile-api.md, "Backfill"). The source is a file, a folder
 * tree of files, or an `s3://bucket/prefix`: Segment's S3 archive (gzipped NDJSON), or Profiles Sync
 * tables exported as CSV or NDJSON.
 *
 * Configuration as the functions read it. DYNAMODB_ENDPOINT set: that DynamoDB; TABLE_NAME set
 * without it: the table in AWS (credentials from the usual AWS variables); neither: npm start's
 * DynamoDB Local (127.0.0.1:$DYNAMODB_LOCAL_PORT, table crosswalk-local). S3_ENDPOINT points the S3
 * client elsewhere (moto server).
 *
 * Progress on stderr every few seconds, each rejected line on stderr (`file:line: reason`), the
 * summary on stdout. Ctrl-C stops after the batch being written; the same command resumes.
 * Exit status: 0 every line loaded, 2 some lines rejected (all listed), 1 the run could not finish.
 */

import { backfillDependencies } from '../functions/segment-backfill/dependencies';
import { loadConfig } from '../src/platform/config/env';
import { ConfigurationError } from '../src/platform/core/errors';
import { type BackfillProgress, runBackfill } from '../src/segment/backfill';
import { backfillFiles } from '../src/segment/backfill-sources';
import { localSettings } from './local/local-stack';

const USAGE = `Usage: npm run backfill -- <file | folder | s3://bucket/prefix> [--run-id ID] [--restart]

  --run-id ID   name of the run (default: derived from the source); the same id resumes it
  --restart     ignore a stored checkpoint and read the source from its first line
Reads TABLE_NAME, DYNAMODB_ENDPOINT, S3_ENDPOINT and the identity settings (docs/configuration.md).`;

function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

function describeProgress(p: BackfillProgress): string {
  const share = p.bytesTotal ? ` ${((100 * p.bytes) / p.bytesTotal).toFixed(1)} %,` : '';
  return `backfill: ${p.lines.toLocaleString('en')} lines (${Math.round(p.perSecond).toLocaleString('en')}/s), file ${Math.min(p.filesDone + 1, p.files)} of ${p.files},${share} ETA ${duration(p.etaSeconds)}; ${p.accepted.toLocaleString('en')} loaded, ${p.rejected.toLocaleString('en')} rejected`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const flag = (name: string) => {
    const at = args.indexOf(name);
    if (at === -1) return undefined;
    const value = args[at + 1];
    args.splice(at, 2);
    return value;
  };
  const runId = flag('--run-id');
  const restart = args.includes('--restart');
  const positional = args.filter((a) => a !== '--restart');
  if (positional.length !== 1 || positional[0]!.startsWith('-')) {
    console.error(USAGE);
    return 1;
  }
  const source = positional[0]!;

  const environment: Record<string, string | undefined> = { ...process.env };
  if (!environment.DYNAMODB_ENDPOINT && !environment.TABLE_NAME) {
    environment.DYNAMODB_ENDPOINT = `http://127.0.0.1:${localSettings().dynamoDbLocalPort}`;
    environment.TABLE_NAME = 'crosswalk-local';
    environment.AWS_REGION ??= 'local';
  }
  const config = loadConfig(environment);
  const deps = backfillDependencies(config);
  const files = await backfillFiles(source, deps.s3);
  if (files.length === 0) {
    console.error(`crosswalk backfill: ${source} holds no file`);
    return 1;
  }
  let stop = false;
  process.on('SIGINT', () => {
    if (stop) process.exit(1);
    stop = true;
    console.error('\nbackfill: stopping after the batch being written (Ctrl-C again to quit at once)…');
  });
  let rejected = 0;
  const summary = await runBackfill(deps, {
    source,
    files,
    ...(runId ? { runId } : {}),
    restart,
    shouldStop: () => stop,
    onProgress: (progress) => console.error(describeProgress(progress)),
    onRejected: (line) => {
      rejected++;
      const lines = line.lastLine ? `${line.line}-${line.lastLine}` : `${line.line}`;
      console.error(`rejected: ${line.file}:${lines}: ${line.reason}`);
    },
  });
  const t = summary.totals;
  console.log(
    [
      `${summary.complete ? 'Backfill complete' : 'Backfill stopped'} (run ${summary.runId}${summary.resumedFrom ? `, resumed after ${summary.resumedFrom.file}:${summary.resumedFrom.line}` : ''}): ${files.length} file(s), ${t.lines.toLocaleString('en')} lines in ${duration(summary.seconds)} (${Math.round(summary.perSecond).toLocaleString('en')} lines/s)`,
      `  loaded:   ${t.accepted.toLocaleString('en')} (${t.duplicates.toLocaleString('en')} already there)`,
      `  written:  ${t.profiles.toLocaleString('en')} profile, ${t.identifiers.toLocaleString('en')} identifier and ${t.accounts.toLocaleString('en')} account item(s)`,
      `  rejected: ${t.rejected.toLocaleString('en')} line(s)${rejected < t.rejected ? ` (${rejected} in this run, listed above)` : t.rejected > 0 ? ', listed above' : ''}`,
    ].join('\n'),
  );
  if (!summary.complete) {
    console.error(`backfill: interrupted; run the same command again to resume (run id ${summary.runId})`);
    return 1;
  }
  return t.rejected > 0 ? 2 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message =
      error instanceof ConfigurationError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    console.error(`crosswalk backfill: ${message}`);
    process.exit(1);
  },
);
