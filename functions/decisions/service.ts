/**
 * The decide/track use cases and the container's wiring for them: identity resolution through the
 * in-container cache, the project's Optimizely client, the attribute and bucketing rules, and the
 * wait for event delivery before answering. Built once per container on first use.
 */
import { env } from '../config/env';
import { HttpError } from '../http/errors';
import type { Identifier, IdentityReader } from '../identity/model';
import { identityReader } from '../identity/reader';
import { type IdentityRules, identityRulesFromEnv } from '../identity/rules';
import { logger, metric } from '../observability/logger';
import { DatafileSource } from '../optimizely/datafile-source';
import { type DeliveryReport, FlushingEventDispatcher } from '../optimizely/event-dispatcher';
import { createProjectRegistry, type Project, type ProjectRegistry } from '../optimizely/projects';
import { DynamoDbDatafileStore } from '../storage/datafile-store';
import { dynamoDbClient } from '../storage/dynamodb-client';
import { type Attributes, buildAttributes } from './attributes';
import {
  type AgentDecision,
  type DecideOptionName,
  decideFlags,
  type ForcedDecision,
  type Person,
  personFor,
  type TrackAnswer,
  trackEvent,
} from './decide';
import { requestIdentifiers } from './identifiers';
import { CachedIdentityReader } from './identity-cache';

export class NoIdentifierError extends Error {
  override name = 'NoIdentifierError';
}

export interface DecisionSettings {
  accountBucketedFlags: readonly string[];
  accountPrefix: string;
  allowReserved: boolean;
  rules: IdentityRules;
}

export interface DecisionDependencies {
  identities: IdentityReader;
  projects: ProjectRegistry;
  dispatcher: FlushingEventDispatcher;
  settings: DecisionSettings;
}

export interface PersonRequest {
  userId?: string | undefined;
  identifiers?: Record<string, string> | undefined;
  userAttributes: Attributes;
}

async function resolvePerson(deps: DecisionDependencies, request: PersonRequest): Promise<Person> {
  const ordered: Identifier[] = requestIdentifiers(request.userId, request.identifiers, deps.settings.rules);
  if (ordered.length === 0) throw new NoIdentifierError('Send userId or at least one identifier');
  const profile = await deps.identities.resolve(ordered);
  const person = personFor(ordered, profile);
  if (!person) throw new NoIdentifierError('Send userId or at least one identifier');
  return person;
}

function attributesFor(
  deps: DecisionDependencies,
  project: Project,
  person: Person,
  request: PersonRequest,
): Attributes {
  return buildAttributes({
    profile: person.profile,
    requestAttributes: request.userAttributes,
    declared: project.declaredAttributes,
    accountPrefix: deps.settings.accountPrefix,
    allowReserved: deps.settings.allowReserved,
  });
}

export interface DecideRequest extends PersonRequest {
  sdkKey: string;
  keys: readonly string[];
  decideOptions: readonly DecideOptionName[];
  forcedDecisions: readonly ForcedDecision[];
}

/** Decides, then waits for every decision event; failed deliveries are logged and counted, not fatal. */
export async function decideForRequest(
  deps: DecisionDependencies,
  request: DecideRequest,
): Promise<{ decisions: AgentDecision[]; delivery: DeliveryReport }> {
  const [project, person] = await Promise.all([
    deps.projects.get(request.sdkKey),
    resolvePerson(deps, request),
  ]);
  const attributes = attributesFor(deps, project, person, request);
  const { result, delivery } = await deps.dispatcher.capture(() =>
    decideFlags(project, person, {
      keys: request.keys,
      attributes,
      options: request.decideOptions,
      forcedDecisions: request.forcedDecisions,
      accountBucketedFlags: deps.settings.accountBucketedFlags,
    }),
  );
  if (delivery.failed > 0) {
    logger.error('decision events were not delivered', { sdkKey: request.sdkKey, ...delivery });
    metric('DecisionEventDeliveryFailed', delivery.failed);
  }
  return { decisions: result, delivery };
}

export interface TrackRequest extends PersonRequest {
  sdkKey: string;
  eventKey: string;
  eventTags: Record<string, string | number | boolean | null>;
}

/** Tracks, then waits for the conversion event; a failed delivery is a retryable error. */
export async function trackForRequest(
  deps: DecisionDependencies,
  request: TrackRequest,
): Promise<TrackAnswer> {
  const [project, person] = await Promise.all([
    deps.projects.get(request.sdkKey),
    resolvePerson(deps, request),
  ]);
  const attributes = attributesFor(deps, project, person, request);
  const { result, delivery } = await deps.dispatcher.capture(() =>
    trackEvent(project, person, request.eventKey, attributes, request.eventTags),
  );
  if (delivery.failed > 0) {
    logger.error('conversion event was not delivered', { sdkKey: request.sdkKey, ...delivery });
    metric('ConversionEventDeliveryFailed', delivery.failed);
    // A 503 the caller can read: the conversion was not recorded and retrying is the fix.
    throw new HttpError(503, 'The conversion event could not be delivered to Optimizely; retry the request');
  }
  return result;
}

export interface DecisionRuntime extends DecisionDependencies {
  identityCache: CachedIdentityReader;
  datafiles: DatafileSource;
}

let runtime: DecisionRuntime | undefined;

/** The container's dependencies, built from the environment on first use. */
export function decisionRuntime(): DecisionRuntime {
  if (runtime) return runtime;
  const config = env();
  const identityCache = new CachedIdentityReader(identityReader(), {
    ttlMs: config.IDENTITY_CACHE_TTL_MS,
    negativeTtlMs: config.IDENTITY_NEGATIVE_CACHE_TTL_MS,
    maxEntries: config.IDENTITY_CACHE_MAX_ENTRIES,
  });
  const datafiles = new DatafileSource({
    store: new DynamoDbDatafileStore({ client: dynamoDbClient(), tableName: config.TABLE_NAME }),
    urlTemplate: config.OPTIMIZELY_DATAFILE_URL_TEMPLATE,
    revalidateMs: config.DATAFILE_REVALIDATE_SECONDS * 1000,
    ...(config.OPTIMIZELY_DATAFILE && config.OPTIMIZELY_SDK_KEY
      ? { localFile: { sdkKey: config.OPTIMIZELY_SDK_KEY, path: config.OPTIMIZELY_DATAFILE } }
      : {}),
  });
  const dispatcher = new FlushingEventDispatcher({ endpoint: config.OPTIMIZELY_EVENT_ENDPOINT });
  runtime = {
    identities: identityCache,
    identityCache,
    datafiles,
    dispatcher,
    projects: createProjectRegistry({ source: datafiles, dispatcher }),
    settings: {
      accountBucketedFlags: config.ACCOUNT_BUCKETED_FLAGS,
      accountPrefix: config.ACCOUNT_ATTRIBUTE_PREFIX,
      allowReserved: config.ALLOW_RESERVED_ATTRIBUTES,
      rules: identityRulesFromEnv(config),
    },
  };
  return runtime;
}

/** Tests, the local server and the bench: forget the cache, clients and datafiles (config is re-read). */
export function resetDecisionRuntime(): void {
  runtime?.identityCache.clear();
  runtime = undefined;
}
