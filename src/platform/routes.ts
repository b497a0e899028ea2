// Over 300 lines on purpose: the one route table, plain data the stack, the local server and the handlers each read whole.
/**
 * The single source of truth for what runs where: each Lambda function, its entry file, the table
 * items and secrets it may touch, its schedule, and each HTTP route with the operation that serves it
 * and the throttle it shares. The CDK stack (lib/) wires these to API Gateway, EventBridge and IAM;
 * `npm start` and `npm run invoke` serve the same table locally, so local and deployed cannot drift;
 * a function that serves several routes dispatches on the operation named here. Plain data: bundles
 * import it too.
 */
import type { ItemFamily } from './dynamodb/table-schema';

/** DynamoDB actions a grant may hold (TransactWriteItems is authorised through these, per item). */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'PutItem'
  | 'DeleteItem'
  | 'ConditionCheckItem'
  | 'UpdateItem'
  | 'Query';

/** Access to some item families of the table: one IAM statement, conditioned on their key prefixes. */
export interface TableGrant {
  items: readonly ItemFamily[];
  actions: readonly TableAction[];
}

/** Secrets Manager secrets, one per purpose, so each function's role reads only what it needs. */
export type SecretName = 'segment' | 'apiKeys' | 'optimizelyWebhook' | 'experimentId' | 'profileApi';

export interface FunctionSpec {
  /** Lambda entry file, relative to the repository root; it exports `handler`. */
  entry: string;
  description: string;
  /** Table access, item family by item family; empty: no table at all. */
  table: readonly TableGrant[];
  secrets: readonly SecretName[];
  memoryMb?: number;
  /** Default DEFAULT_TIMEOUT_SECONDS; the local server gives each request the same. */
  timeoutSeconds?: number;
  /** Sample event under events/, used by `npm run invoke` and documented for `sam local invoke`. */
  sampleEvent: string;
  /** Run by an EventBridge schedule every this many minutes instead of by HTTP routes (`npm start` runs it too). */
  scheduleMinutes?: number;
  /**
   * The name the stack's logical ids derive from (`DecideFunction`, its role, schedule, alarms), when
   * it is not the function's own: the name a function had before it was renamed, kept so a deployed
   * stack updates the function in place instead of replacing it (docs/deploy.md).
   */
  logicalName?: string;
  /** The CDK setting that reserves (and caps) the function's concurrency; unset: the account's shared pool. */
  reservedConcurrency?: 'segmentReservedConcurrency' | 'decideReservedConcurrency';
  /**
   * Reads the objects of the backfill bucket (CDK context `backfillBucket`: `s3:ListBucket` on the
   * bucket, `s3:GetObject` on its objects, nothing else); invoked on demand, neither routed nor
   * scheduled.
   */
  readsBackfillBucket?: boolean;
  /**
   * Triggered by the table's stream too, filtered to new outbox items marked for the relay
   * (platform/dynamodb/table-schema.ts `OUTBOX_RELAY_FILTER`), RELAY_BATCH_SIZE records or
   * RELAY_BATCHING_WINDOW_MS at a time (`npm start` reads the local table's stream the same way).
   */
  relaysOutboxStream?: boolean;
}

/** Stream records per relay invocation at most: each is one stored batch (a request's events). */
export const RELAY_BATCH_SIZE = 1000;
/**
 * How long the stream trigger gathers records before invoking the relay: more visitors per event
 * API request and fewer invocations, for at most this much more delay (Agent flushes every 30 s).
 */
export const RELAY_BATCHING_WINDOW_MS = 1000;

// No spreads in this table's constants: esbuild counts a spread as a possible side effect and would
// keep `functionSpecs` (about 3 KB of descriptions and grants) in every bundle, which needs `routes` only.
/** The identity items' writes, as the Segment webhook's ingest makes them. */
const INGEST_WRITES = ['GetItem', 'BatchGetItem', 'PutItem', 'DeleteItem', 'ConditionCheckItem'] as const;

/** Lambda timeout of a function whose spec sets none. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/**
 * What learning a person from Segment's Profile API takes (docs/profile-api.md): the webhook's own
 * identity writes, since what is learned goes through the same ingest rules, and the limiter shared
 * by every container. Functions that resolve people hold it; the read-through stays off until a
 * space and a token are configured.
 */
const PROFILE_API_LEARNING = {
  items: ['identifier', 'profile', 'account', 'message'],
  actions: INGEST_WRITES,
} as const satisfies TableGrant;
const PROFILE_API_LIMITER = { items: ['rateLimit'], actions: ['UpdateItem'] } as const satisfies TableGrant;
const PROFILE_API_READ_THROUGH = [PROFILE_API_LEARNING, PROFILE_API_LIMITER] as const;

export const functionSpecs = {
  health: {
    entry: 'functions/health/lambda.ts',
    description: 'Liveness check',
    table: [],
    secrets: [],
    memoryMb: 256,
    sampleEvent: 'events/health.json',
  },
  'segment-webhook': {
    entry: 'functions/segment-webhook/lambda.ts',
    description: 'Segment Webhooks (Actions) destination: ingests events into the identity graph',
    table: [
      {
        items: ['identifier', 'profile', 'account', 'message'],
        actions: INGEST_WRITES,
      },
      // A delete's erasure job, written with its tombstones; the redelivery function carries it out.
      { items: ['erasure'], actions: ['PutItem'] },
    ],
    secrets: ['segment'],
    memoryMb: 1024,
    timeoutSeconds: 29,
    reservedConcurrency: 'segmentReservedConcurrency',
    sampleEvent: 'events/segment-webhook.json',
  },
  'identity-lookup': {
    entry: 'functions/identity-lookup/lambda.ts',
    logicalName: 'identities',
    description: 'Looks up one profile of the identity cache (admin keys only)',
    table: PROFILE_API_READ_THROUGH,
    secrets: ['apiKeys', 'experimentId', 'profileApi'],
    sampleEvent: 'events/identities.json',
  },
  'agent-api': {
    entry: 'functions/agent-api/lambda.ts',
    logicalName: 'decide',
    description:
      "Optimizely Agent API (decide, track, activate, batch, override, lookup, save, config, datafile) with identity resolution, and Agent's REST user profile service",
    table: [
      PROFILE_API_LEARNING,
      PROFILE_API_LIMITER,
      { items: ['datafile'], actions: ['GetItem', 'PutItem'] },
      // Overrides: one partition per project, read whole (Query) and cached; ENABLE_OVERRIDES.
      { items: ['override'], actions: ['GetItem', 'PutItem', 'DeleteItem', 'Query'] },
      // The user profile service: one item per person and project; USER_PROFILE_SERVICE.
      { items: ['userProfile'], actions: ['GetItem', 'PutItem'] },
      // The event outbox (docs/events.md): a conversion is stored before track answers, deleted once sent.
      { items: ['outbox'], actions: ['PutItem', 'DeleteItem'] },
    ],
    secrets: ['apiKeys', 'experimentId', 'profileApi'],
    memoryMb: 1024,
    reservedConcurrency: 'decideReservedConcurrency',
    sampleEvent: 'events/decide.json',
  },
  'profile-reads': {
    entry: 'functions/profile-reads/lambda.ts',
    logicalName: 'profiles',
    description: "Segment's Profile API read paths (users and accounts), served from the identity cache",
    table: PROFILE_API_READ_THROUGH,
    // The experiment-id key only names the operator key in the audit log line (platform/http/auth.ts).
    secrets: ['apiKeys', 'experimentId', 'profileApi'],
    sampleEvent: 'events/profiles.json',
  },
  'segment-backfill': {
    entry: 'functions/segment-backfill/lambda.ts',
    logicalName: 'backfill',
    description:
      'Loads a Segment history (S3 archive, Profiles Sync export) from an s3:// prefix into the identity graph; invoked on demand',
    table: [
      // The webhook's own ingest: a backfill goes through the same rules.
      {
        items: ['identifier', 'profile', 'account', 'message'],
        actions: INGEST_WRITES,
      },
      // A delete in the archive writes its erasure job, as the webhook does.
      { items: ['erasure'], actions: ['PutItem'] },
      // Where the run stands, so a run stopped at its timeout resumes (segment/backfill.ts).
      { items: ['backfill'], actions: ['GetItem', 'PutItem'] },
    ],
    secrets: [],
    memoryMb: 1024,
    // Lambda's maximum: a run stops a minute before it, with a checkpoint, and is invoked again.
    timeoutSeconds: 900,
    readsBackfillBucket: true,
    sampleEvent: 'events/backfill.json',
  },
  console: {
    entry: 'functions/console/lambda.ts',
    description: 'Identity console: the operator page, its script and its style (static, no data)',
    table: [],
    secrets: [],
    // Static text prepared at init, as small as health: less memory would also mean less CPU at cold start.
    memoryMb: 256,
    sampleEvent: 'events/console.json',
  },
  'optimizely-webhook': {
    entry: 'functions/optimizely-webhook/lambda.ts',
    description: 'Optimizely datafile webhook: fetches and stores the new datafile',
    table: [{ items: ['datafile'], actions: ['GetItem', 'PutItem'] }],
    secrets: ['optimizelyWebhook'],
    sampleEvent: 'events/optimizely-webhook.json',
  },
  'event-redelivery': {
    entry: 'functions/event-redelivery/lambda.ts',
    logicalName: 'redelivery',
    description:
      "Completes Segment deletes' erasures, then re-sends Optimizely events stored in the outbox until delivered or too old",
    table: [
      // What is due (Query), and claims that move an item to its next due time (Put + Delete in one
      // transaction); an erasure rewrites or deletes the batches naming a deleted person.
      { items: ['outbox'], actions: ['Query', 'PutItem', 'DeleteItem'] },
      // Erasures (identity/erasure.ts): the pending jobs, and the deleted person's saved profiles
      // and overrides in every project (Query: the project registries, a project's overrides).
      { items: ['erasure'], actions: ['Query', 'DeleteItem'] },
      { items: ['userProfile', 'override'], actions: ['Query', 'DeleteItem'] },
    ],
    // The experiment-id key: a deleted person's digested ids name their profiles and events.
    secrets: ['experimentId'],
    memoryMb: 256,
    // A run stops 5 s before this; a shorter run than the schedule keeps runs from overlapping.
    timeoutSeconds: 50,
    scheduleMinutes: 1,
    relaysOutboxStream: true,
    sampleEvent: 'events/redelivery.json',
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof functionSpecs;

/**
 * Routes that share a throttle bucket: webhooks (Segment backfills must not starve clients),
 * decisions (client traffic), identities (operators: lookups and the console), profiles (server code
 * written for Segment's Profile API, per request like decisions), health (load balancers).
 */
export type ThrottleGroup = 'webhooks' | 'decisions' | 'identities' | 'profiles' | 'health';

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** API Gateway path syntax: `{name}` for a path parameter. */
  path: string;
  function: FunctionName;
  /** The operation of that function's handler serving this route. */
  operation: string;
  throttle: ThrottleGroup;
}

export const routes: readonly RouteSpec[] = [
  { method: 'GET', path: '/health', function: 'health', operation: 'health', throttle: 'health' },
  {
    method: 'POST',
    path: '/webhooks/segment',
    function: 'segment-webhook',
    operation: 'ingest',
    throttle: 'webhooks',
  },
  {
    method: 'GET',
    path: '/v1/identities/{type}/{value}',
    function: 'identity-lookup',
    operation: 'describe',
    throttle: 'identities',
  },
  {
    method: 'POST',
    path: '/v1/identities/lookup',
    function: 'identity-lookup',
    operation: 'lookup',
    throttle: 'identities',
  },
  // The console's page and assets share the operators' bucket: only operators have a use for them.
  { method: 'GET', path: '/console', function: 'console', operation: 'page', throttle: 'identities' },
  {
    method: 'GET',
    path: '/console/{asset}',
    function: 'console',
    operation: 'asset',
    throttle: 'identities',
  },
  { method: 'POST', path: '/v1/decide', function: 'agent-api', operation: 'decide', throttle: 'decisions' },
  { method: 'POST', path: '/v1/track', function: 'agent-api', operation: 'track', throttle: 'decisions' },
  {
    method: 'POST',
    path: '/v1/activate',
    function: 'agent-api',
    operation: 'activate',
    throttle: 'decisions',
  },
  { method: 'POST', path: '/v1/batch', function: 'agent-api', operation: 'batch', throttle: 'decisions' },
  {
    method: 'POST',
    path: '/v1/override',
    function: 'agent-api',
    operation: 'override',
    throttle: 'decisions',
  },
  { method: 'POST', path: '/v1/lookup', function: 'agent-api', operation: 'lookup', throttle: 'decisions' },
  { method: 'POST', path: '/v1/save', function: 'agent-api', operation: 'save', throttle: 'decisions' },
  // Agent's REST user profile service plugin: POST by default, GET when its lookupMethod/saveMethod say so.
  {
    method: 'POST',
    path: '/v1/ups/lookup',
    function: 'agent-api',
    operation: 'restProfileLookup',
    throttle: 'decisions',
  },
  {
    method: 'GET',
    path: '/v1/ups/lookup',
    function: 'agent-api',
    operation: 'restProfileLookup',
    throttle: 'decisions',
  },
  {
    method: 'POST',
    path: '/v1/ups/save',
    function: 'agent-api',
    operation: 'restProfileSave',
    throttle: 'decisions',
  },
  {
    method: 'GET',
    path: '/v1/ups/save',
    function: 'agent-api',
    operation: 'restProfileSave',
    throttle: 'decisions',
  },
  { method: 'GET', path: '/v1/config', function: 'agent-api', operation: 'config', throttle: 'decisions' },
  {
    method: 'GET',
    path: '/v1/datafile',
    function: 'agent-api',
    operation: 'datafile',
    throttle: 'decisions',
  },
  // Segment's Profile API read paths (docs/profile-api.md): `{id}` is `type:value`.
  {
    method: 'GET',
    path: '/v1/spaces/{space}/collections/users/profiles/{id}/{resource}',
    function: 'profile-reads',
    operation: 'users',
    throttle: 'profiles',
  },
  {
    method: 'GET',
    path: '/v1/spaces/{space}/collections/accounts/profiles/{id}/{resource}',
    function: 'profile-reads',
    operation: 'accounts',
    throttle: 'profiles',
  },
  {
    method: 'POST',
    path: '/webhooks/optimizely',
    function: 'optimizely-webhook',
    operation: 'datafileUpdated',
    throttle: 'webhooks',
  },
];

export function routeKey(route: RouteSpec): string {
  return `${route.method} ${route.path}`;
}

/** A function's Lambda timeout in ms (what its requests' deadlines are counted from). */
export function functionTimeoutMs(name: FunctionName): number {
  const spec: FunctionSpec = functionSpecs[name];
  return (spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
}
