/**
 * What every Agent operation shares: the function's dependencies, and Agent's request rules in
 * Agent's order and wording. The SDK key comes first and starts the project's load; the request's
 * own checks run meanwhile, and when one fails the project's error is answered instead (Agent
 * checks the key before anything else). This module is the one place the handler awaits a project.
 */

import { MISSING_USER_ID, type ProjectRequest } from '../../src/agent/person';
import type { DecisionDependencies } from '../../src/agent/service';
import type { Project } from '../../src/optimizely/projects';
import { reservedKeyIn } from '../../src/platform/core/dict';
import { InvalidRequestError, NotPermittedError } from '../../src/platform/core/errors';
import type { MaybePromise } from '../../src/platform/core/maybe-promise';
import * as z from '../../src/platform/core/zod';
import { type HttpEvent, type HttpResult, queryAll, readJsonBody } from '../../src/platform/http/api-gateway';
import type { Authenticate, Caller } from '../../src/platform/http/auth';
import type { Operation } from '../../src/platform/http/operations';
import type { AfterResponse } from '../../src/platform/lambda/after-response';
import {
  activateBodySchema,
  decideBodyFastPath,
  decideBodySchema,
  KEYED_FIELDS,
  lookupBodySchema,
  overrideBodySchema,
  type RequestLimits,
  saveBodySchema,
  trackBodySchema,
} from './schema';

export interface BatchLimits {
  /** More operations than this: 422, as Agent's `operationsLimit` (BATCH_OPERATIONS_LIMIT). */
  maxOperations: number;
  /** Operations running at once (BATCH_MAX_CONCURRENCY). */
  maxConcurrency: number;
  /** Identifiers (`userId`, `identifiers` entries) named by all operations together (BATCH_MAX_IDENTIFIERS). */
  maxIdentifiers: number;
  /** DynamoDB requests after which no further operation starts (BATCH_MAX_DYNAMODB_REQUESTS). */
  maxDynamoDbRequests: number;
  /** Optimizely events (decisions, conversions) after which no further operation starts (BATCH_MAX_EVENTS). */
  maxEvents: number;
}

export interface AgentApiDependencies {
  authenticate: Authenticate;
  decisions: DecisionDependencies;
  limits: RequestLimits & { maxDecideKeys: number; maxBodyBytes: number; maxBatchBodyBytes: number };
  batch: BatchLimits;
  /** SDK key of requests without X-Optimizely-SDK-Key (OPTIMIZELY_SDK_KEY). */
  defaultSdkKey: string | undefined;
  /** Runs the event flush after the answer (docs/events.md); told when each invocation is done. */
  afterResponse: AfterResponse;
}

/** What an operation is handed besides its request: the dependencies, schemas, and the router (for batch). */
export interface AgentApi {
  deps: AgentApiDependencies;
  schemas: ReturnType<typeof bodySchemas>;
  /** Serves one request as the router does: what a batch runs each of its operations with. */
  serve: Operation<Caller>;
}

export type AgentOperation = (api: AgentApi, event: HttpEvent, caller: Caller) => Promise<HttpResult>;

export function bodySchemas(limits: RequestLimits) {
  return {
    decide: decideBodySchema(limits),
    decideFast: decideBodyFastPath(limits),
    track: trackBodySchema(limits),
    activate: activateBodySchema(limits),
    override: overrideBodySchema(limits),
    lookup: lookupBodySchema(limits),
    save: saveBodySchema(limits),
    restProfile: z.record(z.string(), z.unknown()),
  };
}

/** Agent's wording for a body that is not the JSON an operation takes. */
export const PARSE_ERROR = 'error parsing request body';
const MISSING_SDK_KEY = 'missing required X-Optimizely-SDK-Key header';

/** Agent's SDK-key middleware: a key is required, and its project starts loading at once. */
function projectOf(api: AgentApi, event: HttpEvent): ProjectRequest {
  // Absent: the deployment's default project. Present but empty: Agent's 400, as an operation of
  // a batch that clears the header gets from Agent.
  const sent = event.headers?.['x-optimizely-sdk-key'];
  const sdkKey = sent === undefined ? api.deps.defaultSdkKey : sent.trim();
  if (!sdkKey) {
    throw new InvalidRequestError(MISSING_SDK_KEY, {
      detail:
        sent === undefined
          ? 'Send X-Optimizely-SDK-Key; this deployment sets no OPTIMIZELY_SDK_KEY default'
          : 'X-Optimizely-SDK-Key is empty; send the SDK key, or leave the header out for the default project',
    });
  }
  // A project the container holds is handed on as it is: a warm request awaits nothing for it.
  const projects = api.deps.decisions.projects;
  const held = projects.getHeld?.(sdkKey);
  if (held) return { sdkKey, project: held };
  const project = projects.get(sdkKey);
  project.catch(() => undefined);
  return { sdkKey, project };
}

/**
 * The request's project (loading, or held), and what `check` makes of the request (run meanwhile).
 * When the check fails, the project's error wins: the load is awaited first. Plain when the project
 * is held and the check passes; every failure is a rejection, never a throw.
 */
export function checkedRequest<T>(
  api: AgentApi,
  event: HttpEvent,
  check: () => T,
): MaybePromise<[ProjectRequest, T]> {
  let request: ProjectRequest;
  try {
    request = projectOf(api, event);
  } catch (error) {
    return Promise.reject(error);
  }
  try {
    return [request, check()];
  } catch (error) {
    return Promise.resolve(request.project).then(() => {
      throw error;
    });
  }
}

/** The request's project, loaded (config and datafile answer from it alone). */
export async function loadedProject(api: AgentApi, event: HttpEvent): Promise<Project> {
  return projectOf(api, event).project;
}

const invalid = (problem: string) => new InvalidRequestError(PARSE_ERROR, { detail: problem });
const tooDeep = (problem: string) => new InvalidRequestError(`${PARSE_ERROR}: ${problem}`);

/** How `parseBody` reads a body besides its schema. */
export interface BodyReading<T> {
  /** The size limit and the setting that names it (default MAX_BODY_BYTES). */
  limit?: [maxBytes: number, setting: string];
  /**
   * A hand-written check of the common shape (schema.ts): the parsed body when it is one, else
   * undefined and the schema decides. It never refuses, so every message is the schema's.
   */
  fast?: (body: unknown) => T | undefined;
}

/**
 * The body as Agent reads it: empty (or `null`) is an empty object, anything else must be JSON
 * of the operation's schema. Crosswalk's explanation follows Agent's wording.
 */
export function parseBody<S extends z.ZodMiniType>(
  api: AgentApi,
  schema: S,
  event: HttpEvent,
  reading: BodyReading<z.infer<S>> = {},
): z.infer<S> {
  const [maxBytes, setting] = reading.limit ?? [api.deps.limits.maxBodyBytes, 'MAX_BODY_BYTES'];
  const body = readJsonBody(event, { maxBytes, setting, empty: {}, invalid, tooDeep }) ?? {};
  const fast = reading.fast?.(body);
  if (fast !== undefined) return fast;
  // Checked on the raw JSON: a parser drops `__proto__` silently instead of refusing it.
  for (const field of KEYED_FIELDS) {
    const key = reservedKeyIn((body as Record<string, unknown> | null)?.[field]);
    if (key !== undefined)
      throw new InvalidRequestError(`${PARSE_ERROR}: ${field}: the key "${key}" is not allowed`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new InvalidRequestError(`${PARSE_ERROR}: ${z.describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Crosswalk's identity block, for operator keys: asked for with `includeIdentity=true` or `identifiers`. */
export const includeIdentity = (event: HttpEvent, body: { identifiers?: unknown }): boolean =>
  body.identifiers !== undefined || queryAll(event, 'includeIdentity').includes('true');

/** The request's userId, or none when Crosswalk's `identifiers` name the person instead. */
export function userIdOf(userId: string | undefined, identifiers: unknown): string | undefined {
  if (!userId?.trim() && identifiers === undefined) throw new InvalidRequestError(MISSING_USER_ID);
  return userId?.trim() ? userId : undefined;
}

export function requireOperator(caller: Caller, what: string): void {
  if (!caller.admin) {
    throw new NotPermittedError(
      `${what} needs an operator key (ADMIN_API_KEYS); the key sent is a client key`,
    );
  }
}

/**
 * A lookup or save of a user profile (Agent's own routes or its REST plugin's): a user profile
 * service, an operator key, then the request as `check` reads it.
 */
export function profileRequest<T>(
  api: AgentApi,
  event: HttpEvent,
  caller: Caller,
  save: boolean,
  check: () => T,
): MaybePromise<[ProjectRequest, T]> {
  if (!api.deps.decisions.agentState.profiles) {
    throw new NotPermittedError('no user profile service found', {
      detail: 'Set USER_PROFILE_SERVICE=dynamodb to keep user profiles',
    });
  }
  requireOperator(caller, save ? 'Saving a user profile' : 'Reading a user profile');
  return checkedRequest(api, event, check);
}
