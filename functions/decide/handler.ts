/**
 * Optimizely-Agent-compatible routes: POST /v1/decide, POST /v1/track, GET /v1/config and
 * GET /v1/datafile. `X-Optimizely-SDK-Key` selects the project (default OPTIMIZELY_SDK_KEY). Each
 * operation parses its request, calls one use case and shapes the Agent answer.
 */
import { reservedKeyIn } from '../core/dict';
import { InvalidRequestError, UnknownProjectError } from '../core/errors';
import * as z from '../core/zod';
import { type DecisionDependencies, decideForRequest, trackForRequest } from '../decisions/service';
import { type HttpEvent, json, jsonBody, queryValues } from '../http/api-gateway';
import type { ApiKeyCheck } from '../http/auth';
import { httpHandler, type LambdaHttpHandler } from '../http/http-handler';
import { routeOperations } from '../http/operations';
import type { AfterResponse } from '../lambda/after-response';
import { decideBodySchema, KEYED_FIELDS, type RequestLimits, trackBodySchema } from './schema';

export interface DecideDependencies {
  checkApiKey: ApiKeyCheck;
  decisions: DecisionDependencies;
  limits: RequestLimits & { maxDecideKeys: number; maxBodyBytes: number };
  /** SDK key of requests without X-Optimizely-SDK-Key (OPTIMIZELY_SDK_KEY). */
  defaultSdkKey: string | undefined;
  /** Runs the event flush after the answer (docs/events.md); told when each invocation is done. */
  afterResponse: AfterResponse;
}

export function createDecideHandler(deps: DecideDependencies): LambdaHttpHandler {
  const { limits, decisions } = deps;
  const decideSchema = decideBodySchema(limits);
  const trackSchema = trackBodySchema(limits);

  const sdkKeyOf = (event: HttpEvent): string => {
    const sdkKey = event.headers?.['x-optimizely-sdk-key']?.trim() || deps.defaultSdkKey;
    if (!sdkKey)
      throw new UnknownProjectError(
        'No SDK key: send X-Optimizely-SDK-Key (no OPTIMIZELY_SDK_KEY default is set)',
      );
    return sdkKey;
  };

  const parse = <S extends z.ZodMiniType>(schema: S, event: HttpEvent): z.infer<S> => {
    const body = jsonBody(event, limits.maxBodyBytes);
    // Checked on the raw JSON: a parser drops `__proto__` silently instead of refusing it.
    for (const field of KEYED_FIELDS) {
      const key = reservedKeyIn((body as Record<string, unknown> | null)?.[field]);
      if (key !== undefined) throw new InvalidRequestError(`${field}: the key "${key}" is not allowed`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new InvalidRequestError(z.describeIssues(parsed.error));
    return parsed.data;
  };

  const operations = routeOperations('decide', {
    decide: async (event) => {
      const keys = queryValues(event, 'keys');
      if (keys.length > limits.maxDecideKeys) {
        throw new InvalidRequestError(
          `keys: ${keys.length} given, at most ${limits.maxDecideKeys} per request (MAX_DECIDE_KEYS)`,
        );
      }
      const body = parse(decideSchema, event);
      const found = await decideForRequest(decisions, {
        sdkKey: sdkKeyOf(event),
        keys,
        userId: body.userId,
        identifiers: body.identifiers,
        userAttributes: body.userAttributes,
        decideOptions: body.decideOptions,
        forcedDecisions: body.forcedDecisions,
      });
      // Agent: one key → one decision object; several or none → an array.
      return json(200, keys.length === 1 ? found[0] : found);
    },
    track: async (event) => {
      const eventKey = event.queryStringParameters?.eventKey?.trim();
      if (!eventKey) throw new InvalidRequestError('eventKey: missing required query parameter');
      const body = parse(trackSchema, event);
      const answer = await trackForRequest(decisions, {
        sdkKey: sdkKeyOf(event),
        eventKey,
        userId: body.userId,
        identifiers: body.identifiers,
        userAttributes: body.userAttributes,
        eventTags: body.eventTags,
      });
      return json(200, answer);
    },
    config: async (event) => {
      const { config: c } = await decisions.projects.get(sdkKeyOf(event));
      return json(200, {
        environmentKey: c.environmentKey,
        sdkKey: c.sdkKey,
        revision: c.revision,
        experimentsMap: c.experimentsMap,
        featuresMap: c.featuresMap,
        attributes: c.attributes,
        audiences: c.audiences,
        events: c.events,
      });
    },
    datafile: async (event) => {
      const project = await decisions.projects.get(sdkKeyOf(event));
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: project.datafile,
      };
    },
  });

  return httpHandler(
    async (event, context) => {
      await deps.checkApiKey(event);
      return operations(event, context);
    },
    decisions.observability,
    deps.afterResponse,
  );
}
