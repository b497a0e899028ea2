/**
 * The load the DynamoDB fault tests run through the local server: a Crosswalk configured so every
 * read of `npm start`'s decide path reaches DynamoDB on every request (no container caches, saved
 * profiles and overrides on), a known population seeded first, then decides (known people by user
 * id or anonymous id, and strangers), tracks, and Segment batches sent as Segment sends them, until
 * `stop()`. Every answer is recorded with its start time, so a test can look at one fault's window.
 */
import {
  eventBase,
  type Outcome,
  person,
  personEvents,
  postDecide,
  postTrack,
  runAtConcurrency,
  SegmentSender,
  type TrafficTarget,
} from '../../bench/lib/traffic';
import { SAMPLE_DATAFILE_PATH } from './agent';
import { pause } from './load';

export const FAULT_ADMIN_KEY = 'fault-admin-key';
export const FAULT_TOKEN = 'fault-webhook-token';

/** The app's settings: `npm start`'s decide path on DynamoDB every time, metrics on. */
export function faultAppSettings(variables: Record<string, string>): Record<string, string> {
  return {
    ADMIN_API_KEYS: FAULT_ADMIN_KEY,
    SEGMENT_WEBHOOK_TOKEN: FAULT_TOKEN,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE_PATH,
    ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
    USER_PROFILE_SERVICE: 'dynamodb',
    ENABLE_OVERRIDES: 'true',
    OVERRIDE_CACHE_TTL_MS: '0',
    IDENTITY_CACHE_TTL_MS: '0',
    IDENTITY_NEGATIVE_CACHE_TTL_MS: '0',
    CROSSWALK_METRICS: 'on',
    ...variables,
  };
}

export interface FaultLoad {
  target: TrafficTarget;
  sender: SegmentSender;
  /** Every batch handed to the sender, seed included: what a fault-free run must be given. */
  batches: unknown[][];
  userIds: string[];
  decides: Outcome[];
  tracks: Outcome[];
  /** Stops the load and waits until every batch has a final answer. */
  stop(): Promise<void>;
  /** Stops the load and the sender's retries at once (cleanup after a failure). */
  halt(): Promise<void>;
}

/**
 * Seeds `people` (round 0 of each, accepted), then runs the load: `decides` and `tracks` requests in
 * flight, and a batch of 3 people's next round every `batchEveryMs`.
 */
export async function startFaultLoad(options: {
  url: string;
  run: string;
  people: number;
  decides: number;
  tracks: number;
  batchEveryMs: number;
  strangers: boolean;
}): Promise<FaultLoad> {
  const { run, people } = options;
  const base = eventBase();
  const target: TrafficTarget = {
    url: options.url,
    apiKey: FAULT_ADMIN_KEY,
    segmentToken: FAULT_TOKEN,
    includeIdentity: true,
  };
  const sender = new SegmentSender(target, { baseMs: 200, maxMs: 2_000 });
  const batches: unknown[][] = [];
  const send = (batch: unknown[]) => {
    batches.push(batch);
    void sender.send(batch);
  };
  for (let i = 0; i < people; i += 6)
    send(Array.from({ length: Math.min(6, people - i) }, (_, k) => personEvents(run, i + k, 0, base)).flat());
  await sender.settled();
  if (sender.finals.some((status) => status !== 200)) throw new Error('seeding failed');

  let stopped = false;
  const decides: Outcome[] = [];
  const tracks: Outcome[] = [];
  const kinds = options.strangers ? 3 : 2;
  const running = Promise.all([
    runAtConcurrency(
      options.decides,
      (i) => {
        const who = person(run, i % people);
        if (i % kinds === 0) return postDecide(target, { userId: who.userId });
        if (i % kinds === 1) return postDecide(target, { anonymousId: who.anonymousId });
        return postDecide(target, { userId: `${run}-stranger-${i}` });
      },
      () => stopped,
      (o) => decides.push(o),
    ),
    runAtConcurrency(
      options.tracks,
      (i) => postTrack(target, person(run, i % people).userId, i),
      () => stopped,
      (o) => tracks.push(o),
    ),
    (async () => {
      for (let round = 1; !stopped; round++) {
        for (let i = 0; i + 3 <= people && !stopped; i += 3) {
          send(Array.from({ length: 3 }, (_, k) => personEvents(run, i + k, round, base)).flat());
          await pause(options.batchEveryMs);
        }
      }
    })(),
  ]);
  return {
    target,
    sender,
    batches,
    userIds: Array.from({ length: people }, (_, i) => person(run, i).userId),
    decides,
    tracks,
    stop: async () => {
      stopped = true;
      await running;
      await sender.settled();
    },
    halt: async () => {
      stopped = true;
      sender.cancel();
      await running;
      await sender.settled();
    },
  };
}

/** The answers that started and ended inside `window`. */
export const within =
  (window: { from: number; to: number }) =>
  (o: Outcome): boolean =>
    o.startedAt >= window.from && o.startedAt + o.ms <= window.to;
