import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { createHealthHandler } from '../../functions/health/handler';
import { lambdaContext } from '../../scripts/local/lambda-context';
import { silent } from '../../src/platform/observability/logger';

describe('health handler', () => {
  it('answers 200 with a JSON status on the sample API Gateway event', async () => {
    const event = JSON.parse(readFileSync('events/health.json', 'utf8'));
    const result = await createHealthHandler({ observability: silent })(event, lambdaContext('health'));
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(result.body as string)).toMatchObject({ status: 'ok', service: 'crosswalk' });
  });
});
