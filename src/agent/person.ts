/**
 * Who a request is for: the person its identifiers name, resolved through the identity reader (their
 * profile when Segment knows them, and their stable experiment id), and its project, loading
 * meanwhile. Shared by every Agent use case (service.ts, state-operations.ts).
 */
import type { ExperimentIds } from '../identity/experiment-id';
import { type Identifier, identifierListKey, normalizeIdentifier } from '../identity/identifiers';
import type { IdentityReader, ResolvedProfile } from '../identity/model';
import type { IdentityRules } from '../identity/rules';
import type { Project } from '../optimizely/projects';
import { NoIdentifierError } from '../platform/core/errors';
import type { LruCache } from '../platform/core/lru-cache';
import { isPromise, type MaybePromise, thenMaybe } from '../platform/core/maybe-promise';
import type { ProfileReadThrough, ReadThroughWants } from '../profile-api/read-through';
import type { Attributes } from './attributes';
import type { Person, PersonSource } from './decide';
import { type FailOpenPolicy, type ReadOutcome, readOrFailOpen } from './fail-open';
import { requestIdentifiers } from './request-identifiers';

export interface DecisionSettings {
  accountBucketedFlags: readonly string[];
  accountPrefix: string;
  allowReserved: boolean;
  rules: IdentityRules;
}

/** What resolving a person needs. */
export interface PersonDependencies {
  identities: IdentityReader;
  experimentIds: ExperimentIds;
  settings: DecisionSettings;
  /** Decide, track and activate go on without an identity read that failed (fail-open.ts); unset: they fail. */
  failOpen?: FailOpenPolicy;
  /** Segment's Profile API on a miss (docs/profile-api.md); unset: off. */
  readThrough?: ProfileReadThrough | undefined;
  /**
   * The experiment id each identifier list last resolved to in this container, kept past the identity
   * cache's TTL: which saved profile to read alongside the identity when the person is read again.
   * A guess, checked once the identity is read (a merge can change the id).
   */
  lastExperimentIds?: LruCache<string, string> | undefined;
}

export interface PersonRequest {
  userId?: string | undefined;
  identifiers?: Record<string, string> | undefined;
  userAttributes: Attributes;
  /**
   * True for an operator key: Optimizely Agent's answer in full, with Crosswalk's identity block
   * when asked. False for a client key, whose answer carries nothing it did not send
   * (docs/api.md, "What a client key gets").
   */
  operator: boolean;
}

/**
 * The project a request is for: its SDK key, and its project already loading (the entry point
 * starts the load before checking the body, so a cold container fetches the datafile while the
 * request is validated and the person resolved).
 */
export interface ProjectRequest {
  sdkKey: string;
  /** The project itself when the container holds it (a warm request awaits nothing for it). */
  project: MaybePromise<Project>;
}

/**
 * The project and the person, resolved together: at once (no await) when both are held. An error
 * of the project wins over one of the person, as Agent checks the SDK key before anything else.
 */
export function projectAndPerson(
  deps: PersonDependencies,
  request: ProjectRequest,
  person: PersonRequest,
  options: { failOpen?: boolean; whileReading?: ((ordered: Identifier[]) => void) | undefined } = {},
): MaybePromise<[Project, Person]> {
  const resolving = resolvePerson(deps, person, {
    failOpen: options.failOpen,
    whileReading: options.whileReading,
    project: request.project,
  });
  const project = request.project;
  if (!isPromise(project) && !isPromise(resolving)) return [project, resolving];
  return bothResolved(project, resolving);
}

async function bothResolved(
  loading: MaybePromise<Project>,
  resolving: MaybePromise<Person>,
): Promise<[Project, Person]> {
  if (isPromise(resolving)) resolving.catch(() => undefined);
  const project = isPromise(loading) ? await loading : loading;
  return [project, isPromise(resolving) ? await resolving : resolving];
}

/** Optimizely Agent's answer when a request names nobody. */
export const MISSING_USER_ID = 'missing "userId" in request payload';

/**
 * The person a request names: their profile when Segment knows them, and their experiment id. With
 * `failOpen`, an identity read that failed leaves the request's identifiers to decide on. Not in the
 * cache (and the cache answering), they may be learned from Segment's Profile API (`project`: whose
 * declared attributes to ask for). At once for a person the container holds (no read, no await);
 * a problem with the request is a rejection, never a throw, so the caller can let the project's
 * error win. `whileReading` is called, with the request's identifiers in resolution order, only
 * when the person has to be read, before anything is awaited: a caller's own reads for this person
 * (decide's saved profiles) then go with the identity read, and a held person costs none of them.
 */
export function resolvePerson(
  deps: PersonDependencies,
  request: PersonRequest,
  options: {
    failOpen?: boolean | undefined;
    project?: MaybePromise<Project> | undefined;
    whileReading?: ((ordered: Identifier[]) => void) | undefined;
  } = {},
): MaybePromise<Person> {
  try {
    const ordered: Identifier[] = requestIdentifiers(
      request.userId,
      request.identifiers,
      deps.settings.rules,
    );
    if (ordered.length === 0)
      throw new NoIdentifierError(MISSING_USER_ID, { detail: 'Send userId or at least one identifier' });
    // A person the container holds needs no read, so no budget (a timer) either.
    const held = deps.identities.held?.(ordered);
    if (held) {
      const choice = deps.experimentIds.ofProfile(held);
      if (!isPromise(choice)) return knownPerson(deps, request, ordered, held, choice.id, 'cache');
    }
    options.whileReading?.(ordered);
    return readPerson(deps, request, ordered, held, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function readPerson(
  deps: PersonDependencies,
  request: PersonRequest,
  ordered: Identifier[],
  held: ResolvedProfile | null | undefined,
  options: { failOpen?: boolean; project?: MaybePromise<Project> | undefined },
): Promise<Person> {
  const read: ReadOutcome<ResolvedProfile | null> =
    held !== undefined
      ? { ok: true, value: held }
      : await readOrFailOpen(options.failOpen ? deps.failOpen : undefined, 'identity', () =>
          deps.identities.resolve(ordered),
        );
  let profile = read.ok ? read.value : null;
  let source: PersonSource = 'cache';
  // Only after a cache that answered: with DynamoDB failing, the read-through could write nothing.
  if (read.ok && !profile && deps.readThrough) {
    const { project } = options;
    const learned = await deps.readThrough.resolve(ordered, () =>
      project ? thenMaybe(project, (p) => wantsOf(deps.settings, p)) : { links: true },
    );
    if (learned.profile) {
      profile = learned.profile;
      source = 'profile-api';
    }
  }
  if (profile) {
    const { id } = await deps.experimentIds.ofProfile(profile);
    return knownPerson(deps, request, ordered, profile, id, source);
  }
  // Not known yet: the same anchor rule the profile will get when Segment links these identifiers.
  const choice = await deps.experimentIds.ofRequest(ordered);
  if (!choice)
    throw new NoIdentifierError(MISSING_USER_ID, { detail: 'Send userId or at least one identifier' });
  return {
    experimentId: choice.id,
    answerUserId: answerUserIdOf(request, ordered) ?? choice.id,
    userId: ordered.find((i) => i.type === 'user_id')?.value ?? null,
    profile: null,
    matchedBy: null,
    accountId: null,
    source: read.ok ? 'request' : 'unavailable',
  };
}

function knownPerson(
  deps: PersonDependencies,
  request: PersonRequest,
  ordered: Identifier[],
  profile: ResolvedProfile,
  experimentId: string,
  source: PersonSource,
): Person {
  deps.lastExperimentIds?.set(identifierListKey(ordered), experimentId);
  return {
    experimentId,
    answerUserId: answerUserIdOf(request, ordered) ?? experimentId,
    userId: profile.userId,
    profile,
    matchedBy: profile.matchedBy,
    accountId: profile.primaryAccount?.id ?? null,
    source,
  };
}

/**
 * What the answer names the person by: a client key is answered with the identifier it sent; an
 * operator key as before (Agent's echo of userId, else the experiment id: undefined here).
 */
function answerUserIdOf(request: PersonRequest, ordered: Identifier[]): string | undefined {
  const requested = request.userId?.trim() || undefined;
  return requested ?? (request.operator ? undefined : sentValue(request.identifiers, ordered[0]!));
}

/**
 * What a read-through asks Segment for on behalf of a project: the traits its datafile declares (and
 * may forward), the accounts when flags are account-bucketed or account attributes are declared, and
 * those account attributes' traits.
 */
export function wantsOf(settings: DecisionSettings, project: Project): ReadThroughWants {
  const prefix = settings.accountPrefix;
  const traits: string[] = [];
  const accountTraits: string[] = [];
  for (const name of project.forwardedAttributes) {
    if (name.startsWith('$')) continue;
    if (prefix !== '' && name.startsWith(prefix)) accountTraits.push(name.slice(prefix.length));
    else traits.push(name);
  }
  return {
    traits,
    links: settings.accountBucketedFlags.length > 0 || accountTraits.length > 0,
    accountTraits,
  };
}

/** The value, as the caller wrote it, of the request identifier that normalised to `first`. */
function sentValue(identifiers: Record<string, string> | undefined, first: Identifier): string {
  if (identifiers) {
    // One identifier (and no userId, or this is not asked): it is the one `first` came from.
    let only: string | undefined;
    let count = 0;
    for (const type in identifiers) {
      only = identifiers[type];
      if (++count > 1) break;
    }
    if (count === 1 && only !== undefined) return only.trim();
  }
  for (const [type, value] of Object.entries(identifiers ?? {})) {
    const normalized = normalizeIdentifier({ type, value });
    if (normalized.type === first.type && normalized.value === first.value) return value.trim();
  }
  return first.value;
}
