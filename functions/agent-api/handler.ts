/**
 * Optimizely Agent's core API: decide, track, activate, override, lookup, save, batch, config and
 * datafile. `X-Optimizely-SDK-Key` selects the project (default OPTIMIZELY_SDK_KEY). Each operation
 * checks what Agent checks, in Agent's order and wording (the SDK key first, then the body, then
 * the user), calls one use case and answers in Agent's shape; Crosswalk's `identity` block only
 * for operator keys, when the request asks for it (`includeIdentity=true`, or the `identifiers`
 * extension). A client key's answer carries nothing its request did not send (docs/api.md).
 */

import { DECIDE_OPTIONS, type DecideOptionName } from '../../src/agent/decide';
import {
  activateForRequest,
  type DecisionDependencies,
  decideForRequest,
  lookupProfile,
  MISSING_USER_ID,
  overrideForRequest,
  type ProjectRequest,
  saveProfile,
  trackForRequest,
} from '../../src/agent/service';
import { dict, reservedKeyIn } from '../../src/platform/core/dict';
import { InvalidRequestError, NotPermittedError, PayloadTooLargeError } from '../../src/platform/core/errors';
import { goMap } from '../../src/platform/core/go-json';
import { nestingProblem, shallowJsonText } from '../../src/platform/core/nesting';
import * as z from '../../src/platform/core/zod';
import { type HttpEvent, json, queryAll, queryValues, rawBody } from '../../src/platform/http/api-gateway';
import type { Authenticate, Caller } from '../../src/platform/http/auth';
import { httpHandler, type LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { type Operation, routeOperations } from '../../src/platform/http/operations';
import type { AfterResponse } from '../../src/platform/lambda/after-response';
import { type BatchLimits, runBatch } from './batch';
import {
  activateBodySchema,
  batchBodySchema,
  decideBodySchema,
  KEYED_FIELDS,
  lookupBodySchema,
  overrideBodySchema,
  type RequestLimits,
  restProfileRequest,
  saveBodySchema,
  trackBodySchema,
} from './schema';

export interface DecideDependencies {
  authenticate: Authenticate;
  decisions: DecisionDependencies;
  limits: RequestLimits & { maxDecideKeys: number; maxBodyBytes: number; maxBatchBodyBytes: number };
  batch: BatchLimits;
  /** SDK key of requests without X-Optimizely-SDK-Key (OPTIMIZELY_SDK_KEY). */
  defaultSdkKey: string | undefined;
  /** Runs the event flush after the answer (docs/events.md); told when each invocation is done. */
  afterResponse: AfterResponse;
}

/** Agent's wording for a body that is not the JSON an operation takes. */
const PARSE_ERROR = 'error parsing request body';
const MISSING_SDK_KEY = 'missing required X-Optimizely-SDK-Key header';

const isDecideOption = (name: string): name is DecideOptionName =>
  (DECIDE_OPTIONS as readonly string[]).includes(name);

function requireOperator(caller: Caller, what: string): void {
  if (!caller.admin) {
    throw new NotPermittedError(
      `${what} needs an operator key (ADMIN_API_KEYS); the key sent is a client key`,
    );
  }
}

export function createDecideHandler(deps: DecideDependencies): LambdaHttpHandler {
  const { limits, decisions } = deps;
  const schemas = {
    decide: decideBodySchema(limits),
    track: trackBodySchema(limits),
    activate: activateBodySchema(limits),
    override: overrideBodySchema(limits),
    lookup: lookupBodySchema(limits),
    save: saveBodySchema(limits),
    restProfile: z.record(z.string(), z.unknown()),
  };

  /**
   * Agent's SDK-key middleware: a key is required, and its project starts loading at once (the
   * request is checked meanwhile; `checked` lets the project's errors win, as in Agent).
   */
  const projectOf = (event: HttpEvent): ProjectRequest => {
    // Absent: the deployment's default project. Present but empty: Agent's 400, as an operation of
    // a batch that clears the header gets from Agent.
    const sent = event.headers?.['x-optimizely-sdk-key'];
    const sdkKey = sent === undefined ? deps.defaultSdkKey : sent.trim();
    if (!sdkKey) {
      throw new InvalidRequestError(MISSING_SDK_KEY, {
        detail:
          sent === undefined
            ? 'Send X-Optimizely-SDK-Key; this deployment sets no OPTIMIZELY_SDK_KEY default'
            : 'X-Optimizely-SDK-Key is empty; send the SDK key, or leave the header out for the default project',
      });
    }
    const project = decisions.projects.get(sdkKey);
    project.catch(() => undefined);
    return { sdkKey, project };
  };

  /** The request's own checks; when one fails, an error of the project is answered instead. */
  const checked = async <T>(request: ProjectRequest, check: () => T): Promise<T> => {
    try {
      return check();
    } catch (error) {
      await request.project;
      throw error;
    }
  };

  /**
   * The body as Agent reads it: empty (or `null`) is an empty object, anything else must be JSON
   * of the operation's schema. Crosswalk's explanation follows Agent's wording.
   */
  const parse = <S extends z.ZodMiniType>(
    schema: S,
    event: HttpEvent,
    [maxBytes, setting] = [limits.maxBodyBytes, 'MAX_BODY_BYTES'],
  ): z.infer<S> => {
    const text = rawBody(event);
    if (Buffer.byteLength(text, 'utf8') > maxBytes) {
      throw new PayloadTooLargeError(`body: larger than ${maxBytes} bytes (${setting})`);
    }
    let body: unknown = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text) ?? {};
      } catch (error) {
        throw new InvalidRequestError(PARSE_ERROR, {
          detail: `not valid JSON (${(error as Error).message})`,
        });
      }
    }
    const tooDeep = shallowJsonText(text) ? undefined : nestingProblem(body);
    if (tooDeep) throw new InvalidRequestError(`${PARSE_ERROR}: ${tooDeep}`);
    // Checked on the raw JSON: a parser drops `__proto__` silently instead of refusing it.
    for (const field of KEYED_FIELDS) {
      const key = reservedKeyIn((body as Record<string, unknown> | null)?.[field]);
      if (key !== undefined)
        throw new InvalidRequestError(`${PARSE_ERROR}: ${field}: the key "${key}" is not allowed`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new InvalidRequestError(`${PARSE_ERROR}: ${z.describeIssues(parsed.error)}`);
    return parsed.data;
  };

  const includeIdentity = (event: HttpEvent, body: { identifiers?: unknown }) =>
    body.identifiers !== undefined || queryAll(event, 'includeIdentity').includes('true');

  const userIdOf = (userId: string | undefined, identifiers: unknown) => {
    if (!userId?.trim() && identifiers === undefined) throw new InvalidRequestError(MISSING_USER_ID);
    return userId?.trim() ? userId : undefined;
  };

  const operations: Record<string, Operation<Caller>> = {
    decide: async (event, caller) => {
      const project = projectOf(event);
      const { body, userId, options, keys } = await checked(project, () => {
        const body = parse(schemas.decide, event);
        const userId = userIdOf(body.userId, body.identifiers);
        const options = body.decideOptions.map((name) => {
          if (!isDecideOption(name)) throw new InvalidRequestError(`invalid option: ${name}`);
          return name;
        });
        if (options.includes('READ_ONLY')) requireOperator(caller, 'The READ_ONLY decide option');
        // It empties every person's cached prediction in the container, not only the caller's.
        if (options.includes('RESET_CMAB_CACHE'))
          requireOperator(caller, 'The RESET_CMAB_CACHE decide option');
        const keys = queryValues(event, 'keys');
        if (keys.length > limits.maxDecideKeys) {
          throw new InvalidRequestError(
            `keys: ${keys.length} given, at most ${limits.maxDecideKeys} per request (MAX_DECIDE_KEYS)`,
          );
        }
        return { body, userId, options, keys };
      });
      const found = await decideForRequest(decisions, {
        ...project,
        keys,
        userId,
        identifiers: body.identifiers,
        userAttributes: body.userAttributes,
        decideOptions: options,
        forcedDecisions: body.forcedDecisions,
        // A client key's answer carries nothing its request did not send (docs/api.md).
        operator: caller.admin,
        includeIdentity: includeIdentity(event, body),
      });
      // Agent: one key → one decision object; several or none → an array.
      return json(200, keys.length === 1 ? found[0] : found);
    },
    track: async (event, caller) => {
      const project = projectOf(event);
      const { body, eventKey, userId } = await checked(project, () => {
        const body = parse(schemas.track, event);
        // Agent reads the event key as given (a key with spaces is simply not found).
        const eventKey = queryAll(event, 'eventKey')[0];
        if (!eventKey) throw new InvalidRequestError('missing required path parameter: eventKey');
        return { body, eventKey, userId: userIdOf(body.userId, body.identifiers) };
      });
      const answer = await trackForRequest(decisions, {
        ...project,
        eventKey,
        userId,
        identifiers: body.identifiers,
        userAttributes: body.userAttributes,
        eventTags: body.eventTags,
        operator: caller.admin,
        includeIdentity: includeIdentity(event, body),
      });
      return json(200, answer);
    },
    activate: async (event, caller) => {
      const project = projectOf(event);
      const { body, userId } = await checked(project, () => {
        const body = parse(schemas.activate, event);
        return { body, userId: userIdOf(body.userId, body.identifiers) };
      });
      const enabled = queryAll(event, 'enabled')[0];
      const answers = await activateForRequest(decisions, {
        ...project,
        userId,
        identifiers: body.identifiers,
        userAttributes: body.userAttributes,
        operator: caller.admin,
        query: {
          types: queryAll(event, 'type'),
          experimentKeys: queryAll(event, 'experimentKey'),
          featureKeys: queryAll(event, 'featureKey'),
          disableTracking: queryAll(event, 'disableTracking')[0] === 'true',
          enabled: enabled === 'true' ? true : enabled === 'false' ? false : undefined,
        },
      });
      return json(200, answers);
    },
    override: async (event, caller) => {
      if (!decisions.agentState.overrides) {
        throw new NotPermittedError('Overrides not enabled', {
          detail: 'Set ENABLE_OVERRIDES=true to allow them',
        });
      }
      requireOperator(caller, 'Setting an override');
      const project = projectOf(event);
      const body = await checked(project, () => {
        const body = parse(schemas.override, event);
        if (body.userId === '') throw new InvalidRequestError('userId cannot be empty');
        if (body.experimentKey === '') throw new InvalidRequestError('experimentKey cannot be empty');
        return body;
      });
      return json(200, await overrideForRequest(decisions, { ...project, ...body }));
    },
    lookup: async (event, caller) => {
      if (!decisions.agentState.profiles) throw noProfileService();
      requireOperator(caller, 'Reading a user profile');
      const project = projectOf(event);
      const body = await checked(project, () => {
        const body = parse(schemas.lookup, event);
        if (body.userId === '') throw new InvalidRequestError(MISSING_USER_ID);
        return body;
      });
      return json(200, await lookupProfile(decisions, { ...project, userId: body.userId }));
    },
    save: async (event, caller) => {
      if (!decisions.agentState.profiles) throw noProfileService();
      requireOperator(caller, 'Saving a user profile');
      const project = projectOf(event);
      const body = await checked(project, () => {
        const body = parse(schemas.save, event);
        if (body.userId === '') throw new InvalidRequestError(MISSING_USER_ID);
        return body;
      });
      const buckets: Record<string, { variation_id: string }> = {};
      for (const [experimentId, entry] of Object.entries(body.experimentBucketMap)) {
        // Like Agent, entries that are not objects are skipped.
        if (typeof entry === 'object' && entry !== null) {
          buckets[experimentId] = { variation_id: (entry as { variation_id: string }).variation_id };
        }
      }
      await saveProfile(decisions, {
        ...project,
        userId: body.userId,
        experimentBucketMap: dict(Object.entries(buckets)),
      });
      // Agent answers a save with a bare 200.
      return { statusCode: 200, body: '' };
    },
    // Agent's REST user profile service plugin (plugins/userprofileservice, `rest`): Agent keeps its
    // sticky bucketing here, under the person's experiment id (docs/agent-compatibility.md).
    restProfileLookup: (event, caller) => restProfile(event, caller, false),
    restProfileSave: (event, caller) => restProfile(event, caller, true),
    config: async (event) => {
      const project = await projectOf(event).project;
      return json(200, project.agentConfig);
    },
    datafile: async (event) => {
      const project = await projectOf(event).project;
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: project.agentDatafile(),
      };
    },
  };

  /** A lookup or save of Agent's REST profile service plugin: POST with a JSON body, or GET with a query. */
  async function restProfile(event: HttpEvent, caller: Caller, save: boolean) {
    if (!decisions.agentState.profiles) throw noProfileService();
    requireOperator(caller, save ? 'Saving a user profile' : 'Reading a user profile');
    const project = projectOf(event);
    const request = await checked(project, () => {
      const params =
        event.requestContext.http.method === 'GET'
          ? Object.fromEntries(new URLSearchParams(event.rawQueryString ?? ''))
          : parse(schemas.restProfile, event);
      return restProfileRequest(params, limits, save);
    });
    const { userIdKey, userId, buckets } = request;
    if (buckets)
      await saveProfile(decisions, {
        ...project,
        userId,
        experimentBucketMap: dict(Object.entries(buckets)),
      });
    const profile = buckets ?? (await lookupProfile(decisions, { ...project, userId })).experimentBucketMap;
    // What the plugin reads back: the user id as a string under its key, and every entry with a
    // string variation id (the plugin's Go code panics on any other entry).
    const entries = Object.entries(profile).filter(
      ([, entry]) => typeof entry?.variation_id === 'string' && entry.variation_id !== '',
    );
    return json(200, {
      [userIdKey]: userId,
      experiment_bucket_map: goMap(
        dict(entries.map(([id, entry]) => [id, { variation_id: entry.variation_id }])),
      ),
    });
  }

  const serve: Operation<Caller> = routeOperations<Caller>('agent-api', {
    ...operations,
    batch: async (event, caller) => {
      let body: z.infer<typeof batchBodySchema>;
      try {
        body = parse(batchBodySchema, event, [limits.maxBatchBodyBytes, 'BATCH_MAX_BODY_BYTES']);
      } catch (error) {
        if (!(error instanceof InvalidRequestError)) throw error;
        throw new InvalidRequestError('cannot decode the operation body', { detail: error.message });
      }
      // One delivery for the whole batch: its operations' events leave together, merged.
      const answer = await decisions.events.gathered(() =>
        runBatch(event, body, caller, serve, deps.batch, decisions.observability),
      );
      return json(200, answer);
    },
  });

  return httpHandler(
    async (event) => serve(event, await deps.authenticate(event, 'client')),
    decisions.observability,
    deps.afterResponse,
  );
}

function noProfileService(): NotPermittedError {
  return new NotPermittedError('no user profile service found', {
    detail: 'Set USER_PROFILE_SERVICE=dynamodb to keep user profiles',
  });
}
