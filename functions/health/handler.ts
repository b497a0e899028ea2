/** GET /health: liveness for load balancers and the local server; touches no dependency. */
import { json } from '../../src/platform/http/api-gateway';
import { httpHandler, type LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { routeOperations } from '../../src/platform/http/operations';
import type { Observability } from '../../src/platform/observability/logger';

export function createHealthHandler(deps: { observability: Observability }): LambdaHttpHandler {
  const startedAt = new Date().toISOString();
  return httpHandler(
    routeOperations('health', {
      health: async () =>
        json(200, { status: 'ok', service: 'crosswalk', startedAt, time: new Date().toISOString() }),
    }),
    deps.observability,
  );
}
