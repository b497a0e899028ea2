/**
 * Shared pieces for the agent API's decide/track tests (src/agent): the sample datafile, an in-memory
 * identity reader, profiles.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Identifier } from '../../src/identity/identifiers';
import type { IdentityReader, ResolvedProfile } from '../../src/identity/model';
import { DatafileSource } from '../../src/optimizely/datafile-source';
import type { DatafileStore, StoredDatafile } from '../../src/optimizely/datafile-store';
import { CapturingEventDispatcher } from '../../src/optimizely/event-dispatcher';
import { createProjectRegistry, type Project } from '../../src/optimizely/projects';
import type { UserProfileService } from '../../src/optimizely/sdk';
import { isPromise, type MaybePromise } from '../../src/platform/core/maybe-promise';

export const SAMPLE_DATAFILE_PATH = resolve(
  import.meta.dirname,
  '..',
  '..',
  'events',
  'sample-datafile.json',
);
export const sampleDatafile = (): string => readFileSync(SAMPLE_DATAFILE_PATH, 'utf8');

/** A port implementation of the identity reader over a fixed set of profiles. */
export class InMemoryIdentityReader implements IdentityReader {
  calls = 0;
  private readonly byIdentifier = new Map<string, ResolvedProfile>();

  add(profile: Omit<ResolvedProfile, 'matchedBy'>): void {
    for (const identifier of profile.identifiers) {
      this.byIdentifier.set(`${identifier.type}:${identifier.value}`, { ...profile, matchedBy: identifier });
    }
  }

  async resolve(identifiers: readonly Identifier[]): Promise<ResolvedProfile | null> {
    this.calls++;
    for (const identifier of identifiers) {
      const found = this.byIdentifier.get(`${identifier.type}:${identifier.value}`);
      if (found) return { ...found, matchedBy: identifier };
    }
    return null;
  }
}

export class InMemoryDatafileStore implements DatafileStore {
  readonly items = new Map<string, StoredDatafile>();
  gets = 0;
  async get(sdkKey: string): Promise<StoredDatafile | null> {
    this.gets++;
    return this.items.get(sdkKey) ?? null;
  }
  async put(datafile: StoredDatafile): Promise<boolean> {
    const current = this.items.get(datafile.sdkKey);
    if (current && current.revision >= datafile.revision) return false;
    this.items.set(datafile.sdkKey, datafile);
    return true;
  }
}

/** The sample project on the real SDK with Crosswalk's capturing dispatcher (and a profile service, if given). */
export async function sampleProject(
  userProfileService?: UserProfileService,
): Promise<{ project: Project; dispatcher: CapturingEventDispatcher }> {
  // Tests that only look at decisions call the SDK outside capture(): their events go nowhere.
  const dispatcher = new CapturingEventDispatcher();
  const source = new DatafileSource({
    store: new InMemoryDatafileStore(),
    urlTemplate: 'http://127.0.0.1:9/%s.json',
    revalidateMs: 60_000,
    localFile: { sdkKey: 'local-sample', path: SAMPLE_DATAFILE_PATH },
  });
  const project = await createProjectRegistry({
    source,
    dispatcher,
    ...(userProfileService ? { userProfileService } : {}),
  }).get('local-sample');
  return { project, dispatcher };
}

/** A resolved profile whose experiment id is `canonicalId` (its anchor: a user id of that value). */
export function profile(
  canonicalId: string,
  options: {
    identifiers?: Identifier[];
    traits?: ResolvedProfile['traits'];
    audiences?: string[];
    account?: { id: string; traits: ResolvedProfile['traits'] } | null;
  } = {},
): ResolvedProfile {
  const identifiers = options.identifiers ?? [{ type: 'user_id', value: canonicalId }];
  return {
    profileId: `p-${canonicalId}`,
    anchor: { type: 'user_id', value: canonicalId },
    anchorRule: 'earliest-identifier',
    userId: canonicalId,
    matchedBy: identifiers[0] ?? { type: 'user_id', value: canonicalId },
    identifiers,
    traits: options.traits ?? {},
    audiences: options.audiences ?? [],
    accountIds: options.account ? [options.account.id] : [],
    primaryAccount: options.account ?? null,
  };
}

/**
 * The value of a decision that must not have waited for anything (no CMAB flag involved): fails
 * when it is a promise, so a test also proves the synchronous path stayed synchronous.
 */
export function now<T>(value: MaybePromise<T>): T {
  if (isPromise(value)) throw new Error('expected a synchronous result, got a promise');
  return value;
}
