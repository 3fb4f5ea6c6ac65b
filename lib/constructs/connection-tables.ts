/**
 * The two DynamoDB tables, built from the contract's table definitions, and the grants that
 * give a function exactly the item operations (and the one index) it uses. (The handlers' view
 * of the same tables is the `ConnectionStore` port in lambdas/core/ports.ts.)
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CONNECTIONS_TABLE, EVENT_LOG_TABLE, type KeyDef, type TableDef } from '../../lambdas/contract/index.js';

/** The DynamoDB actions a function may be granted: item operations only, never a wildcard. */
export type ItemAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:Query';

export interface ConnectionTablesProps {
  /**
   * What happens to both tables when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy | undefined;
  /**
   * Turn on DynamoDB deletion protection (set it for production data).
   * @default false
   */
  readonly deletionProtection?: boolean | undefined;
}

export class ConnectionTables extends Construct {
  /** One record per WebSocket connection; sparse tenant index for fan-out, sweep index for deadlines. */
  public readonly connections: dynamodb.Table;
  /** Per-tenant event log for `resume`, with id markers for de-duplication. */
  public readonly eventLog: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ConnectionTablesProps = {}) {
    super(scope, id);
    this.connections = tableFromDef(this, 'Connections', CONNECTIONS_TABLE, props);
    this.eventLog = tableFromDef(this, 'EventLog', EVENT_LOG_TABLE, props);
  }

  /** Item operations on the connections table itself (not its indexes). */
  public grantConnections(grantee: iam.IGrantable, ...actions: ItemAction[]): iam.Grant {
    return grantItems(grantee, this.connections, actions);
  }

  /**
   * `dynamodb:Query` on one index of the connections table (a contract name such as
   * `TENANT_INDEX`), and nothing else.
   */
  public grantQueryConnectionIndex(grantee: iam.IGrantable, indexName: string): iam.Grant {
    if (!CONNECTIONS_TABLE.globalSecondaryIndexes.some((index) => index.indexName === indexName)) {
      throw new Error(`ConnectionTables: the connections table has no index "${indexName}"`);
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.connections.tableArn}/index/${indexName}`],
    });
  }

  /** Item operations on the event log table. */
  public grantEventLog(grantee: iam.IGrantable, ...actions: ItemAction[]): iam.Grant {
    return grantItems(grantee, this.eventLog, actions);
  }
}

/**
 * `Table.grant` would also add `<table>/index/*` whenever a table has an index; these grants
 * name the table ARN only, and indexes are granted one by one.
 */
function grantItems(grantee: iam.IGrantable, table: dynamodb.Table, actions: ItemAction[]): iam.Grant {
  if (actions.length === 0) throw new Error('ConnectionTables: grant at least one action');
  return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [table.tableArn] });
}

function attribute(key: KeyDef): dynamodb.Attribute {
  return { name: key.name, type: key.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING };
}

function tableFromDef(scope: Construct, id: string, def: TableDef, props: ConnectionTablesProps): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: attribute(def.partitionKey),
    ...(def.sortKey ? { sortKey: attribute(def.sortKey) } : {}),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: def.timeToLiveAttribute,
    deletionProtection: props.deletionProtection ?? false,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
  });
  for (const index of def.globalSecondaryIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: attribute(index.partitionKey),
      ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...index.nonKeyAttributes],
    });
  }
  return table;
}
