/**
 * `npm run soak -- --minutes N` (default 10): Crosswalk under a fixed mix of Segment batches,
 * decides and tracks, against `npm start` in a process of its own (bench/lib/soak.ts). Exits 1 when
 * a check fails: an error, the server's memory grown by more than 10 %, an event unaccounted for.
 */
import { parseArgs } from 'node:util';
import { soak } from './lib/soak';

const USAGE = `Usage: npm run soak -- [--minutes N] [--concurrency C] [--report-seconds S]

  --minutes N         how long the load runs (default 10; decimals allowed)
  --concurrency C     requests in flight at once (default 8)
  --report-seconds S  seconds between progress lines (default 30)`;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    'report-seconds': { type: 'string', default: '30' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const minutes = Number(values.minutes);
const concurrency = Number(values.concurrency);
const reportSeconds = Number(values['report-seconds']);
if (values.help || !(minutes > 0) || !(concurrency >= 1) || !(reportSeconds > 0)) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 1);
}
soak({ minutes, concurrency, reportSeconds }).then(
  (result) => process.exit(result.ok ? 0 : 1),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
