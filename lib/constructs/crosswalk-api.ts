/**
 * The HTTP API (API Gateway v2) in front of the functions: one `$default` stage with stage-wide
 * throttling and JSON access logs, and one Lambda proxy integration (payload 2.0) per function.
 */
import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnRoute,
  type CfnStage,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type RouteSpec, routeKey } from '../../src/platform/routes';

export interface CrosswalkApiProps {
  /** Steady-state requests per second across the stage. */
  throttleRateLimit: number;
  /** Burst bucket size across the stage. */
  throttleBurstLimit: number;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
}

/** One JSON object per request; `$context` fields API Gateway fills in. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
};

export class CrosswalkApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  private readonly integrations = new Map<IFunction, HttpLambdaIntegration>();

  constructor(scope: Construct, id: string, props: CrosswalkApiProps) {
    super(scope, id);
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.api = new HttpApi(this, 'HttpApi', {
      apiName: Stack.of(this).stackName,
      description: 'Crosswalk: Segment identity cache and Optimizely decisions',
      // Created below so its throttling and access logs are set in one place.
      createDefaultStage: false,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
  }

  /**
   * Wires one route-table entry to its function (one integration per function, shared by its
   * routes), with its own throttle: route settings override the stage default, so a Segment
   * backfill, client traffic and operators each have their own bucket.
   */
  addRoute(
    route: RouteSpec,
    fn: IFunction,
    integrationId: string,
    throttle: { rateLimit: number; burstLimit: number },
  ): HttpRoute {
    let integration = this.integrations.get(fn);
    if (!integration) {
      integration = new HttpLambdaIntegration(integrationId, fn);
      this.integrations.set(fn, integration);
    }
    const [added] = this.api.addRoutes({
      path: route.path,
      methods: [HttpMethod[route.method]],
      integration,
    });
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    const settings = { ...(cfnStage.routeSettings as Record<string, unknown> | undefined) };
    settings[routeKey(route)] = {
      ThrottlingRateLimit: throttle.rateLimit,
      ThrottlingBurstLimit: throttle.burstLimit,
    };
    cfnStage.routeSettings = settings;
    // Route settings may only name routes that exist.
    cfnStage.addResourceDependency(added!.node.defaultChild as CfnRoute);
    return added!;
  }

  get url(): string {
    // The $default stage serves at the API's root: no stage name in the path.
    return this.stage.url;
  }
}
