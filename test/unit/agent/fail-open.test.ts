/** Decide's reads fail open (src/agent/fail-open.ts) and agent state goes without what failed. */
import { describe, expect, it } from '@jest/globals';
import { type AgentState, loadState, storeProfile } from '../../../src/agent/agent-state';
import { readOrFailOpen, writeOrFailOpen } from '../../../src/agent/fail-open';
import { ProfileBook, UserProfileBridge } from '../../../src/agent/profiles';
import type { ExperimentBucketMap, UserProfileStore } from '../../../src/agent/stores';
import { DependencyUnavailableError } from '../../../src/platform/core/errors';
import { recordingObservability } from '../../support/events';

const unavailable = () => new DependencyUnavailableError('DynamoDB is unavailable or throttling');

describe('readOrFailOpen', () => {
  it('answers the read when it works', async () => {
    const observability = recordingObservability();
    const policy = { readTimeoutMs: 1_000, observability };
    expect(await readOrFailOpen(policy, 'identity', async () => 'profile')).toEqual({
      ok: true,
      value: 'profile',
    });
    expect(observability.counted).toEqual({});
  });

  it('goes without a read that failed with a transient fault, and says so in the log and the metrics', async () => {
    const observability = recordingObservability();
    const outcome = await readOrFailOpen({ readTimeoutMs: 1_000, observability }, 'identity', async () => {
      throw unavailable();
    });
    expect(outcome).toEqual({ ok: false });
    expect(observability.counted).toEqual({ DecideFailedOpen: 1, DependencyUnavailable: 1 });
    expect(observability.logged).toEqual([
      expect.objectContaining({
        level: 'warn',
        message:
          "decide failed open: decided on the request's identifiers: the identity cache could not be read",
        fields: expect.objectContaining({ part: 'identity', fault: 'unavailable' }),
      }),
    ]);
  });

  it('stops waiting once its budget is spent, counting a timeout', async () => {
    const observability = recordingObservability();
    const outcome = await readOrFailOpen(
      { readTimeoutMs: 20, observability },
      'profile',
      () => new Promise(() => undefined),
    );
    expect(outcome).toEqual({ ok: false });
    expect(observability.counted).toEqual({ DecideFailedOpen: 1, DependencyTimeouts: 1 });
  });

  it('lets an error no retry would fix through, and fails as before without a policy', async () => {
    const observability = recordingObservability();
    await expect(
      readOrFailOpen({ readTimeoutMs: 1_000, observability }, 'identity', async () => {
        throw new Error('a bug');
      }),
    ).rejects.toThrow('a bug');
    await expect(
      readOrFailOpen(undefined, 'identity', async () => {
        throw unavailable();
      }),
    ).rejects.toThrow(DependencyUnavailableError);
    expect(observability.counted).toEqual({});
  });
});

class FailingProfiles implements UserProfileStore {
  puts: ExperimentBucketMap[] = [];
  failGets = true;
  failPuts = false;
  async get(): Promise<ExperimentBucketMap | null> {
    if (this.failGets) throw unavailable();
    return { '1': { variation_id: '2' } };
  }
  async put(_sdkKey: string, _userId: string, buckets: ExperimentBucketMap): Promise<void> {
    if (this.failPuts) throw unavailable();
    this.puts.push(buckets);
  }
  async addEntries(
    sdkKey: string,
    userId: string,
    base: ExperimentBucketMap | null,
    entries: ExperimentBucketMap,
  ): Promise<ExperimentBucketMap> {
    await this.put(sdkKey, userId, { ...base, ...entries });
    return { ...base, ...entries };
  }
  async remove(): Promise<boolean> {
    return false;
  }
  async projects(): Promise<string[]> {
    return [];
  }
}

describe('agent state when DynamoDB fails', () => {
  it('decides without a saved profile that could not be read, and so never saves one over it', async () => {
    const observability = recordingObservability();
    const store = new ProfileBook(new FailingProfiles(), { ttlMs: 30_000, maxEntries: 10 });
    const state: AgentState = {
      overrides: null,
      profiles: { store, bridge: new UserProfileBridge() },
      failOpen: { readTimeoutMs: 1_000, observability },
    };
    expect(await loadState(state, 'sdk', 'u1', true)).toMatchObject({ overrides: new Map(), profile: null });
    expect(observability.counted.DecideFailedOpen).toBe(1);
  });

  it('answers even when the profile the SDK changed cannot be saved', async () => {
    const observability = recordingObservability();
    const failing = new FailingProfiles();
    failing.failPuts = true;
    const store = new ProfileBook(failing, { ttlMs: 30_000, maxEntries: 10 });
    const state: AgentState = {
      overrides: null,
      profiles: { store, bridge: new UserProfileBridge() },
      failOpen: { readTimeoutMs: 1_000, observability },
    };
    await storeProfile(state, 'sdk', 'u1', { '1': { variation_id: '3' } }, { stored: null });
    expect(observability.logged[0]?.message).toBe(
      'decide failed open: the profile was not saved: the store could not be written',
    );
    await expect(
      writeOrFailOpen(undefined, 'profile', async () => {
        throw unavailable();
      }),
    ).rejects.toThrow(DependencyUnavailableError);
  });
});
