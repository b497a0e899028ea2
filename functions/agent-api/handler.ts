/**
 * Optimizely Agent's core API: decide, track, activate, override, lookup, save, batch, config and
 * datafile, one file each under operations/. `X-Optimizely-SDK-Key` selects the project (default
 * OPTIMIZELY_SDK_KEY). Each operation checks what Agent checks, in Agent's order and wording (the
 * SDK key first, then the body, then the user: request.ts), calls one use case and answers in
 * Agent's shape; Crosswalk's `identity` block only for operator keys, when the request asks for it
 * (`includeIdentity=true`, or the `identifiers` extension). A client key's answer carries nothing
 * its request did not send (docs/api.md).
 */
import type { Caller } from '../../src/platform/http/auth';
import { httpHandler, type LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { type Operation, routeOperations } from '../../src/platform/http/operations';
import { activate } from './operations/activate';
import { batch } from './operations/batch';
import { config } from './operations/config';
import { datafile } from './operations/datafile';
import { decide } from './operations/decide';
import { lookup } from './operations/lookup';
import { override } from './operations/override';
import { restProfileLookup, restProfileSave } from './operations/rest-profile';
import { save } from './operations/save';
import { track } from './operations/track';
import { type AgentApi, type AgentApiDependencies, type AgentOperation, bodySchemas } from './request';

export type { AgentApiDependencies } from './request';

/** The route table's operation names (src/platform/routes.ts) → the files that serve them. */
const operations: Record<string, AgentOperation> = {
  decide,
  track,
  activate,
  override,
  lookup,
  save,
  restProfileLookup,
  restProfileSave,
  config,
  datafile,
  batch,
};

export function createAgentApiHandler(deps: AgentApiDependencies): LambdaHttpHandler {
  const api: AgentApi = {
    deps,
    schemas: bodySchemas(deps.limits),
    // A batch serves its operations through the same router, as the batch's caller.
    serve: (event, caller) => serve(event, caller),
  };
  const serve: Operation<Caller> = routeOperations<Caller>(
    'agent-api',
    Object.fromEntries(
      Object.entries(operations).map(([name, operation]) => [
        name,
        (event, caller: Caller) => operation(api, event, caller),
      ]),
    ),
  );
  return httpHandler(
    async (event) => serve(event, await deps.authenticate(event, 'client')),
    deps.decisions.observability,
    deps.afterResponse,
  );
}
