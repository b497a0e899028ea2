/**
 * The pattern Crosswalk replaces: resolving a person per request with Segment's Profile API (three
 * calls: external_ids, traits, links), here against a loopback fake that answers instantly, vs
 * Crosswalk's resolution of the same identifier from its DynamoDB identity cache (container cache
 * emptied first, so this is Crosswalk's slow path). Real Profile API calls add ~200 ms p95 each
 * and are capped at 100 requests/s per space; the loopback fake hides both.
 */
import type { CachedIdentityReader } from '../src/identity/cache';
import { closeProfileApiAgent, profileApiLookup, startFakeProfileApi } from './fake-profile-api';
import type { BenchPerson } from './fixtures/segment-events';
import type { Report } from './lib/report';
import { interleavedMicrosPerCall } from './lib/stats';

export async function benchSeedPattern(
  people: readonly BenchPerson[],
  identities: CachedIdentityReader,
  report: Report,
): Promise<void> {
  const api = await startFakeProfileApi(people);
  try {
    const picked = people.filter((_, i) => i % 25 === 0);
    let a = 0;
    let c = 0;
    const times = await interleavedMicrosPerCall(
      async () => {
        const p = picked[a++ % picked.length] as BenchPerson;
        const found = await profileApiLookup(api.url, 'anonymous_id', p.anonymousIds[0] as string);
        if (found.userId !== p.userId) throw new Error(`fake Profile API lost ${p.userId}`);
      },
      async () => {
        const p = picked[c++ % picked.length] as BenchPerson;
        identities.clear();
        const found = await identities.resolve([
          { type: 'anonymous_id', value: p.anonymousIds[0] as string },
        ]);
        if (found?.userId !== p.userId) throw new Error(`Crosswalk did not resolve ${p.userId}`);
      },
      { iterations: 200, repetitions: 5, warmup: 100 },
    );
    const viaApi = { median: times.a };
    const viaCrosswalk = { median: times.b };
    report.add('seed_pattern_crosswalk_resolve_us', {
      value: viaCrosswalk.median,
      unit: 'µs',
      target: 'reported (DynamoDB read, container cache empty)',
    });
    report.add('seed_pattern_profile_api_us', {
      value: viaApi.median,
      unit: 'µs',
      floor: viaCrosswalk.median,
      target: 'ratio = Profile API (loopback, 0 ms server) ÷ Crosswalk',
    });
  } finally {
    closeProfileApiAgent();
    await api.close();
  }
}
