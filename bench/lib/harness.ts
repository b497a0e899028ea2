/**
 * What every benchmark scenario shares: calling a Lambda handler in process with an API Gateway
 * HTTP API event (built before timing, as API Gateway would). DynamoDB requests are counted with
 * src/platform/dynamodb/client.ts `countDynamoDbRequests`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { apiGatewayEvent } from '../../scripts/local/api-gateway-event';
import { lambdaContext } from '../../scripts/local/lambda-context';

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface PreparedCall {
  event: APIGatewayProxyEventV2;
  context: Context;
}

export function prepareCall(options: {
  functionName: string;
  routeKey: string;
  url: string;
  body: string;
  headers?: Record<string, string>;
}): PreparedCall {
  const [method = 'POST'] = options.routeKey.split(' ');
  return {
    event: apiGatewayEvent(
      {
        method,
        url: options.url,
        headers: { 'content-type': 'application/json', ...options.headers },
        body: options.body,
      },
      options.routeKey,
    ),
    context: lambdaContext(options.functionName, 300_000),
  };
}

/** Invokes the handler and insists on the expected status, so a failing path is never timed as fast. */
export async function invoke(
  handler: HttpHandler,
  call: PreparedCall,
  expectedStatus = 200,
): Promise<APIGatewayProxyStructuredResultV2> {
  const result = await handler(call.event, call.context);
  if (result.statusCode !== expectedStatus) {
    throw new Error(`handler answered ${result.statusCode} (expected ${expectedStatus}): ${result.body}`);
  }
  return result;
}

/** Runs a full garbage collection so resident memory reflects live objects. */
export async function collectGarbage(): Promise<void> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

/**
 * What every bench process gives a function to run on DynamoDB Local: the table, the endpoint, fixed
 * local credentials and quiet logs and metrics. Each bench adds its keys and Optimizely settings.
 */
export function localEngineEnv(tableName: string, dynamoEndpoint: string): Record<string, string> {
  return {
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: dynamoEndpoint,
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    LOG_LEVEL: 'error',
    CROSSWALK_METRICS: 'off',
  };
}
