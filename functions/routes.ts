/**
 * The single source of truth for what runs where: each Lambda function, its entry file, table
 * access and schedule, and each HTTP route with the operation that serves it. The CDK stack (lib/) wires these to
 * API Gateway; `npm start` and `npm run invoke` serve the same table locally, so local and deployed
 * cannot drift; a function that serves several routes dispatches on the operation named here.
 * Plain data: function bundles import it too.
 */

/** `none`: no table; `read`: identity reads; `read-datafile`: reads plus the stored-datafile items; `read-write`: everything. */
export type TableAccess = 'none' | 'read' | 'read-datafile' | 'read-write';

export interface FunctionSpec {
  /** Lambda entry file, relative to the repository root; it exports `handler`. */
  entry: string;
  description: string;
  tableAccess: TableAccess;
  /** Secrets this function reads (keys inside the Secrets Manager secret). */
  secrets: readonly SecretKey[];
  memoryMb?: number;
  timeoutSeconds?: number;
  /** Sample event under events/, used by `npm run invoke` and documented for `sam local invoke`. */
  sampleEvent: string;
  /**
   * The event outbox's items (`OUTBOX#…`, docs/events.md), besides `tableAccess`: `store` puts and
   * deletes them (the request path), `redeliver` also queries what is due.
   */
  outbox?: 'store' | 'redeliver';
  /** Run by an EventBridge schedule every this many minutes instead of by HTTP routes (`npm start` runs it too). */
  scheduleMinutes?: number;
}

export type SecretKey = 'segmentSharedSecret' | 'segmentWebhookToken' | 'apiKeys' | 'optimizelyWebhookSecret';

export const functionSpecs = {
  health: {
    entry: 'functions/health/lambda.ts',
    description: 'Liveness check',
    tableAccess: 'none',
    secrets: [],
    memoryMb: 256,
    sampleEvent: 'events/health.json',
  },
  'segment-webhook': {
    entry: 'functions/segment-webhook/lambda.ts',
    description: 'Segment Webhooks (Actions) destination: ingests events into the identity graph',
    tableAccess: 'read-write',
    secrets: ['segmentSharedSecret', 'segmentWebhookToken'],
    memoryMb: 1024,
    timeoutSeconds: 29,
    sampleEvent: 'events/segment-webhook.json',
  },
  identities: {
    entry: 'functions/identities/lambda.ts',
    description: 'Looks up one profile of the identity cache',
    tableAccess: 'read',
    secrets: ['apiKeys'],
    sampleEvent: 'events/identities.json',
  },
  decide: {
    entry: 'functions/decide/lambda.ts',
    description: 'Optimizely-Agent-compatible decide, track, config and datafile with identity resolution',
    tableAccess: 'read-datafile',
    secrets: ['apiKeys'],
    memoryMb: 1024,
    sampleEvent: 'events/decide.json',
    outbox: 'store',
  },
  'optimizely-webhook': {
    entry: 'functions/optimizely-webhook/lambda.ts',
    description: 'Optimizely datafile webhook: fetches and stores the new datafile',
    tableAccess: 'read-datafile',
    secrets: ['optimizelyWebhookSecret'],
    sampleEvent: 'events/optimizely-webhook.json',
  },
  redelivery: {
    entry: 'functions/redelivery/lambda.ts',
    description: 'Re-sends Optimizely events stored in the outbox until delivered or too old',
    tableAccess: 'none',
    outbox: 'redeliver',
    secrets: [],
    memoryMb: 256,
    // A run stops 5 s before this; a shorter run than the schedule keeps runs from overlapping.
    timeoutSeconds: 50,
    scheduleMinutes: 1,
    sampleEvent: 'events/redelivery.json',
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof functionSpecs;

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** API Gateway path syntax: `{name}` for a path parameter. */
  path: string;
  function: FunctionName;
  /** The operation of that function's handler serving this route. */
  operation: string;
}

export const routes: readonly RouteSpec[] = [
  { method: 'GET', path: '/health', function: 'health', operation: 'health' },
  { method: 'POST', path: '/webhooks/segment', function: 'segment-webhook', operation: 'ingest' },
  { method: 'GET', path: '/v1/identities/{type}/{value}', function: 'identities', operation: 'describe' },
  { method: 'POST', path: '/v1/decide', function: 'decide', operation: 'decide' },
  { method: 'POST', path: '/v1/track', function: 'decide', operation: 'track' },
  { method: 'GET', path: '/v1/config', function: 'decide', operation: 'config' },
  { method: 'GET', path: '/v1/datafile', function: 'decide', operation: 'datafile' },
  {
    method: 'POST',
    path: '/webhooks/optimizely',
    function: 'optimizely-webhook',
    operation: 'datafileUpdated',
  },
];

export function routeKey(route: RouteSpec): string {
  return `${route.method} ${route.path}`;
}
