/**
 * Optimizely-Agent-compatible routes: POST /v1/decide, POST /v1/track, GET /v1/config and
 * GET /v1/datafile. `X-Optimizely-SDK-Key` selects the project (default OPTIMIZELY_SDK_KEY). The
 * handler validates and caps the request, calls one use case and shapes the Agent answer; events
 * are delivered before it returns.
 */
import type * as z from 'zod/mini';
import { env } from '../config/env';
import { reservedKeys } from '../decisions/attributes';
import { IdentifierConflictError } from '../decisions/identifiers';
import { decideForRequest, decisionRuntime, NoIdentifierError, trackForRequest } from '../decisions/service';
import { type HttpEvent, type HttpResult, json, jsonBody, queryValues } from '../http/api-gateway';
import { requireApiKey } from '../http/auth';
import { BadRequestError, ForbiddenError, NotFoundError, PayloadTooLargeError } from '../http/errors';
import { httpHandler } from '../http/http-handler';
import { decideBodySchema, describeIssues, trackBodySchema } from './schema';

function sdkKeyOf(event: HttpEvent): string {
  const header = event.headers?.['x-optimizely-sdk-key']?.trim();
  const sdkKey = header || env().OPTIMIZELY_SDK_KEY;
  if (!sdkKey)
    throw new ForbiddenError('No SDK key: send X-Optimizely-SDK-Key (no OPTIMIZELY_SDK_KEY default is set)');
  return sdkKey;
}

function parse<S extends z.ZodMiniType>(schema: S, event: HttpEvent): z.infer<S> {
  const config = env();
  let body: unknown;
  try {
    body = jsonBody(event, config.MAX_BODY_BYTES);
  } catch (error) {
    if (error instanceof PayloadTooLargeError) {
      throw new BadRequestError(`body: larger than ${config.MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)`);
    }
    throw error;
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new BadRequestError(describeIssues(parsed.error));
  const data = parsed.data as {
    identifiers?: Record<string, string>;
    userAttributes: Record<string, unknown>;
  };
  const identifierCount = Object.keys(data.identifiers ?? {}).length;
  if (identifierCount > config.MAX_IDENTIFIERS_PER_REQUEST) {
    throw new BadRequestError(
      `identifiers: ${identifierCount} given, at most ${config.MAX_IDENTIFIERS_PER_REQUEST} per request (MAX_IDENTIFIERS_PER_REQUEST)`,
    );
  }
  if (!config.ALLOW_RESERVED_ATTRIBUTES) {
    const reserved = reservedKeys(data.userAttributes as Record<string, string>);
    if (reserved.length > 0) {
      throw new BadRequestError(`userAttributes: reserved keys may not be set: ${reserved.join(', ')}`);
    }
  }
  return parsed.data;
}

/** Domain errors of identity selection are the caller's to fix. */
async function asBadRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof NoIdentifierError || error instanceof IdentifierConflictError) {
      throw new BadRequestError(error.message);
    }
    throw error;
  }
}

async function decide(event: HttpEvent): Promise<HttpResult> {
  const keys = queryValues(event, 'keys');
  const max = env().MAX_DECIDE_KEYS;
  if (keys.length > max)
    throw new BadRequestError(`keys: ${keys.length} given, at most ${max} per request (MAX_DECIDE_KEYS)`);
  const body = parse(decideBodySchema, event);
  const { decisions } = await asBadRequest(() =>
    decideForRequest(decisionRuntime(), {
      sdkKey: sdkKeyOf(event),
      keys,
      userId: body.userId,
      identifiers: body.identifiers,
      userAttributes: body.userAttributes,
      decideOptions: body.decideOptions,
      forcedDecisions: body.forcedDecisions,
    }),
  );
  // Agent: one key → one decision object; several or none → an array.
  if (keys.length === 1) return json(200, decisions[0]);
  return json(200, decisions);
}

async function track(event: HttpEvent): Promise<HttpResult> {
  const eventKey = event.queryStringParameters?.eventKey?.trim();
  if (!eventKey) throw new BadRequestError('eventKey: missing required query parameter');
  const body = parse(trackBodySchema, event);
  const answer = await asBadRequest(() =>
    trackForRequest(decisionRuntime(), {
      sdkKey: sdkKeyOf(event),
      eventKey,
      userId: body.userId,
      identifiers: body.identifiers,
      userAttributes: body.userAttributes,
      eventTags: body.eventTags,
    }),
  );
  return json(200, answer);
}

async function config(event: HttpEvent): Promise<HttpResult> {
  const { config: c } = await decisionRuntime().projects.get(sdkKeyOf(event));
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
}

async function datafile(event: HttpEvent): Promise<HttpResult> {
  const project = await decisionRuntime().projects.get(sdkKeyOf(event));
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: project.datafile,
  };
}

const routes: Record<string, (event: HttpEvent) => Promise<HttpResult>> = {
  'POST /v1/decide': decide,
  'POST /v1/track': track,
  'GET /v1/config': config,
  'GET /v1/datafile': datafile,
};

export const handler = httpHandler(async (event) => {
  const route = routes[event.routeKey];
  if (!route) throw new NotFoundError(`No route ${event.routeKey}`);
  await requireApiKey(event);
  return route(event);
});
