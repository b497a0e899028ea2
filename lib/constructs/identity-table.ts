/**
 * The single DynamoDB table of the identity cache (and stored datafiles). Its key shape and TTL
 * attribute come from src/platform/dynamodb/table-schema.ts, the same constants the local table uses.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TABLE_STREAM_VIEW_TYPE,
  TABLE_TTL_ATTRIBUTE,
} from '../../src/platform/dynamodb/table-schema';

export interface IdentityTableProps {
  /** RETAIN for anything holding real data; DESTROY for throw-away stacks. */
  removalPolicy: RemovalPolicy;
}

export class IdentityTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: IdentityTableProps) {
    super(scope, id);
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: TABLE_SORT_KEY, type: AttributeType.STRING },
      // Webhook batches arrive in bursts and decide traffic follows client traffic: no capacity to plan.
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_TTL_ATTRIBUTE,
      // The relay's trigger (src/events/relay.ts): new outbox items reach it through the stream.
      stream: StreamViewType[TABLE_STREAM_VIEW_TYPE],
      // AWS-managed key (aws/dynamodb): key use shows in CloudTrail, no key policy to maintain and
      // no per-key charge. A customer key would only add control we do not use (docs/architecture.md#security).
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy,
      // A retained table should also survive a stray delete outside CloudFormation.
      deletionProtection: retain,
    });
  }
}
