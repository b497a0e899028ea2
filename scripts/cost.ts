/**
 * `npm run cost`: dollars per million decides, tracked conversions and Segment events, computed from
 * the bench's output (bench-results.json) and the list prices below; side by side with the seed's
 * pattern (the Profile API per decide) and Optimizely Agent on two always-on containers.
 *
 *   npm run cost                          prints the table for ./bench-results.json
 *   npm run cost -- path/to/results.json  another bench run
 *   npm run cost -- --write               also rewrites the generated section of docs/cost.md
 *
 * Every price, its source and the region are in PRICES; every assumption the bench does not measure
 * is in ASSUMPTIONS, and the output says which figures came from the bench run and which were assumed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { functionSpecs } from '../src/platform/routes';

/** us-east-1 list prices, checked on 2026-12-07 (sources in docs/cost.md). */
export const PRICES = {
  region: 'us-east-1',
  checked: '2026-12-07',
  lambdaArmGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  httpApiPerMillionRequests: 1.0,
  dynamoDbPerMillionWru: 0.625,
  dynamoDbPerMillionRru: 0.125,
  cloudWatchLogsPerGb: 0.5,
  fargateArmVcpuHour: 0.03238,
  fargateArmGbHour: 0.00356,
  albHour: 0.0225,
  albLcuHour: 0.008,
} as const;

/** What the bench does not measure; each is named in the output. */
export const ASSUMPTIONS = {
  /** Every decide misses the container's identity cache (worst case): one GetItem, eventually consistent. */
  decideReadsPerMiss: 0.5,
  /** Relay invocation: one event API round trip (100 ms, as the bench's slow API) plus deletes. */
  relayInvocationMs: 120,
  /** Lambda's START/END/REPORT lines per invocation, bytes. */
  logBytesPerInvocation: 350,
  /** Segment webhook batch size (Segment's default when batching is on; 1 when off). */
  segmentBatchEvents: 1000,
  /** Write units per ingest DynamoDB request (transactions of small items cost 2 per item). */
  wruPerIngestRequest: 4,
  /** Seed pattern: Profile API calls per decide, and the wait for each (p50 in-region). */
  seedProfileCallsPerDecide: 3.5,
  seedProfileCallMs: 50,
  profileApiRequestsPerSecond: 100,
  /** Agent: two Fargate tasks of 1 vCPU and 2 GB behind one load balancer, 730 hours a month. */
  agentTasks: 2,
  agentVcpu: 1,
  agentGb: 2,
  agentLcu: 1,
  hoursPerMonth: 730,
} as const;

export interface BenchResults {
  /** `note` says where the figures come from when a sample combines runs. */
  machine?: { date?: string; note?: string };
  results: Record<string, { value: number; floor?: number | null } | undefined>;
}

export interface CostLine {
  item: string;
  perMillion: number;
  basis: string;
}

export interface CostModel {
  benchDate: string;
  decide: CostLine[];
  track: CostLine[];
  segment: CostLine[];
  seedPattern: CostLine[];
  agentMonthly: number;
  used: string[];
  assumed: string[];
}

const GB = 1024 ** 3;

function lambdaMs(ms: number, memoryMb: number): number {
  // Billed in 1 ms steps.
  return Math.ceil(ms) * (memoryMb / 1024) * (PRICES.lambdaArmGbSecond / 1000) * 1e6;
}

export function costModel(bench: BenchResults): CostModel {
  const used: string[] = [];
  const assumed: string[] = [];
  const figure = (name: string, fallback: number, why: string): number => {
    const found = bench.results[name]?.value;
    if (typeof found === 'number' && Number.isFinite(found)) {
      used.push(`${name} = ${round(found, 3)}`);
      return found;
    }
    assumed.push(`${name} not in this bench run: ${fallback} (${why})`);
    return fallback;
  };
  const decideMb = functionSpecs['agent-api'].memoryMb ?? 512;
  const webhookMb = (functionSpecs['segment-webhook'] as { memoryMb?: number }).memoryMb ?? 512;
  const relayMb = functionSpecs['event-redelivery'].memoryMb ?? 512;

  const billed = figure('decide_billed_ms', 8, 'handler time plus the outbox write, no event API wait');
  const reads = figure('decide_dynamodb_requests', 1, 'one GetItem on an identity-cache miss');
  const visitorsPerPost = figure('event_batch_visitors', 10, 'visitors per relay POST under load');
  const relayPerItem =
    lambdaMs(ASSUMPTIONS.relayInvocationMs, relayMb) / visitorsPerPost +
    PRICES.lambdaPerMillionRequests / visitorsPerPost;
  const logs = (ASSUMPTIONS.logBytesPerInvocation / GB) * PRICES.cloudWatchLogsPerGb * 1e6;
  const requestLines = (ms: number, mb: number, name: string): CostLine[] => [
    { item: 'API Gateway HTTP API', perMillion: PRICES.httpApiPerMillionRequests, basis: '1 request' },
    {
      item: `Lambda ${name} (arm64, ${mb} MB)`,
      perMillion: lambdaMs(ms, mb) + PRICES.lambdaPerMillionRequests,
      basis: `${round(ms, 2)} ms billed + 1 request`,
    },
    {
      item: 'DynamoDB reads',
      perMillion: reads * ASSUMPTIONS.decideReadsPerMiss * PRICES.dynamoDbPerMillionRru,
      basis: `${reads} GetItem × ${ASSUMPTIONS.decideReadsPerMiss} RRU (every request a cache miss)`,
    },
    {
      item: 'Event queue: outbox PutItem + relay DeleteItem',
      perMillion: 2 * PRICES.dynamoDbPerMillionWru,
      basis: '2 WRU (item ≤ 1 KB); stream reads by Lambda are free',
    },
    {
      item: `Relay (arm64, ${relayMb} MB)`,
      perMillion: relayPerItem,
      basis: `${ASSUMPTIONS.relayInvocationMs} ms per invocation ÷ ${round(visitorsPerPost, 1)} items`,
    },
    {
      item: 'CloudWatch Logs',
      perMillion: logs * (1 + 1 / visitorsPerPost),
      basis: `${ASSUMPTIONS.logBytesPerInvocation} B per invocation`,
    },
  ];
  const decide = requestLines(billed, decideMb, 'decide');
  const track = requestLines(billed, decideMb, 'track (decide function; decide_billed_ms)');

  const ingestRate = figure('ingest_events_per_s', 500, 'events per second through one webhook handler');
  const ingestRequests = figure('ingest_dynamodb_requests_per_event', 0.1, 'DynamoDB requests per event');
  const batch = ASSUMPTIONS.segmentBatchEvents;
  const segment: CostLine[] = [
    {
      item: 'API Gateway HTTP API',
      perMillion: PRICES.httpApiPerMillionRequests / batch,
      basis: `1 request per ${batch} events`,
    },
    {
      item: `Lambda segment-webhook (arm64, ${webhookMb} MB)`,
      perMillion: lambdaMs(1000 / ingestRate, webhookMb) + PRICES.lambdaPerMillionRequests / batch,
      basis: `${round(1000 / ingestRate, 2)} ms per event (1 / ingest_events_per_s)`,
    },
    {
      item: 'DynamoDB writes',
      perMillion: ingestRequests * ASSUMPTIONS.wruPerIngestRequest * PRICES.dynamoDbPerMillionWru,
      basis: `${round(ingestRequests, 3)} requests × ${ASSUMPTIONS.wruPerIngestRequest} WRU`,
    },
    { item: 'CloudWatch Logs', perMillion: logs / batch, basis: `platform lines per ${batch} events` },
  ];

  const seedMs = ASSUMPTIONS.seedProfileCallsPerDecide * ASSUMPTIONS.seedProfileCallMs + billed;
  const seedPattern: CostLine[] = [
    { item: 'API Gateway HTTP API', perMillion: PRICES.httpApiPerMillionRequests, basis: '1 request' },
    {
      item: `Lambda decide (arm64, ${decideMb} MB), waiting on the Profile API`,
      perMillion: lambdaMs(seedMs, decideMb) + PRICES.lambdaPerMillionRequests,
      basis: `${ASSUMPTIONS.seedProfileCallsPerDecide} calls × ${ASSUMPTIONS.seedProfileCallMs} ms + ${round(billed, 2)} ms`,
    },
    {
      item: 'Segment Profile API',
      perMillion: 0,
      basis: `no per-call price; ${ASSUMPTIONS.profileApiRequestsPerSecond} req/s per space caps it at ${round(ASSUMPTIONS.profileApiRequestsPerSecond / ASSUMPTIONS.seedProfileCallsPerDecide, 1)} decides/s`,
    },
    {
      item: 'CloudWatch Logs',
      perMillion: logs,
      basis: `${ASSUMPTIONS.logBytesPerInvocation} B per invocation`,
    },
  ];

  const a = ASSUMPTIONS;
  const agentMonthly =
    a.hoursPerMonth *
    (a.agentTasks * (a.agentVcpu * PRICES.fargateArmVcpuHour + a.agentGb * PRICES.fargateArmGbHour) +
      PRICES.albHour +
      a.agentLcu * PRICES.albLcuHour);
  return {
    benchDate: bench.machine?.note ?? bench.machine?.date ?? 'unknown',
    decide,
    track,
    segment,
    seedPattern,
    agentMonthly,
    used,
    assumed,
  };
}

export const total = (lines: readonly CostLine[]): number => lines.reduce((sum, l) => sum + l.perMillion, 0);

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const dollars = (x: number) => `$${x < 0.01 && x > 0 ? x.toFixed(4) : x.toFixed(2)}`;

function table(title: string, lines: readonly CostLine[]): string {
  const rows = lines.map((l) => `| ${l.item} | ${dollars(l.perMillion)} | ${l.basis} |`);
  return [
    `**${title}: ${dollars(total(lines))} per million**`,
    '',
    '| item | $ per million | basis |',
    '| --- | ---: | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** The generated section of docs/cost.md. */
export function costMarkdown(model: CostModel): string {
  const perMonth = (millions: number) => dollars(total(model.decide) * millions);
  const agentPer = (millions: number) => dollars(model.agentMonthly / millions);
  return [
    `Bench run of ${model.benchDate}; prices ${PRICES.region}, checked ${PRICES.checked}.`,
    '',
    table('Decide', model.decide),
    table('Tracked conversion', model.track),
    table('Segment event', model.segment),
    table('Seed pattern (Profile API per decide)', model.seedPattern),
    `**Optimizely Agent on ${ASSUMPTIONS.agentTasks} always-on Fargate tasks** (${ASSUMPTIONS.agentVcpu} vCPU, ${ASSUMPTIONS.agentGb} GB, arm64) behind an ALB: ${dollars(model.agentMonthly)} a month whatever the traffic, before the identity lookups Agent does not do.`,
    '',
    '| decides a month | Crosswalk | Agent (fixed ÷ volume, per million) |',
    '| ---: | ---: | ---: |',
    ...[1, 10, 100, 1000].map(
      (m) =>
        `| ${m} million | ${perMonth(m)} a month | ${agentPer(m)} per million (${dollars(model.agentMonthly)} a month) |`,
    ),
    '',
    'Bench figures used: ' + (model.used.length > 0 ? model.used.join('; ') : 'none') + '.',
    '',
    ...(model.assumed.length > 0
      ? ['Assumed (missing from the bench run): ' + model.assumed.join('; ') + '.', '']
      : []),
  ].join('\n');
}

const BEGIN = '<!-- cost:begin (generated by npm run cost -- --write) -->';
const END = '<!-- cost:end -->';

/** docs/cost.md with its generated section replaced. */
export function withGeneratedSection(doc: string, section: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/cost.md has no "${BEGIN}" … "${END}" section`);
  return `${doc.slice(0, start + BEGIN.length)}\n${section}\n${doc.slice(end)}`;
}

/** The generated section as it stands in a doc. */
export function generatedSection(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) return '';
  return doc.slice(start + BEGIN.length, end).trim();
}

function main(): void {
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  const path = resolve(args.find((a) => !a.startsWith('--')) ?? 'bench-results.json');
  const bench = JSON.parse(readFileSync(path, 'utf8')) as BenchResults;
  const section = costMarkdown(costModel(bench));
  console.log(section);
  if (write) {
    const docPath = resolve(import.meta.dirname, '..', 'docs', 'cost.md');
    writeFileSync(docPath, withGeneratedSection(readFileSync(docPath, 'utf8'), section));
    console.log(`\nWrote the generated section of ${docPath}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) main();
