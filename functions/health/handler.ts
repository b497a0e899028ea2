/** GET /health: liveness for load balancers and the local server; touches no dependency. */
import { json } from '../http/api-gateway';
import { httpHandler } from '../http/http-handler';

const startedAt = new Date().toISOString();

export const handler = httpHandler(async () =>
  json(200, { status: 'ok', service: 'crosswalk', startedAt, time: new Date().toISOString() }),
);
