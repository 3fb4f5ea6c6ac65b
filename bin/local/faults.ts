/**
 * Test-only fault injection. Off by default; `npm start` enables it only with LOCAL_FAULTS=1,
 * controlled over HTTP at `POST/GET/DELETE {management URL}/_local/faults`.
 *
 * Management API (`management-api.ts`): 410 for chosen connections, 500 forever for chosen
 * connections, throttling (429 LimitExceededException) and server errors for the next N posts,
 * per-connection latency.
 * DynamoDB (the fault proxy between the handlers and DynamoDB, `dynamo-faults.ts`): 500
 * InternalServerError for every request or the next N requests, optionally only for some
 * operations (`X-Amz-Target`) and tables.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { readBody, sendAwsError, sendJson } from './http.js';
import { errorMessage } from './log.js';

/** Which DynamoDB requests fail, and how. */
export interface DynamoFaultPlan {
  /** Every matching request answers 500 InternalServerError (calls fail for good). */
  unavailable: boolean;
  /** The next N matching requests answer 500 (each SDK attempt is one request). */
  failNext: number;
  /** Only these operations (`X-Amz-Target` `DynamoDB_20120810.<Operation>`); all when unset. */
  operations?: Set<string>;
  /** Only requests naming one of these tables; all when unset. */
  tables?: Set<string>;
}

export interface FaultPlan {
  /** Answered 410 GoneException even while connected. */
  goneIds: Set<string>;
  /** Answered 500 InternalServerErrorException, every time, even while connected. */
  errorIds: Set<string>;
  /** The next N PostToConnection calls answer 429 LimitExceededException. */
  throttleNext: number;
  /** The next N PostToConnection calls answer 500 InternalServerErrorException. */
  errorNext: number;
  /** Delay before answering any management call for a connection. */
  latencyMs: Map<string, number>;
  /** Faults of the handlers' DynamoDB (effective only where the fault proxy runs). */
  dynamodb: DynamoFaultPlan;
}

function emptyDynamoFaultPlan(): DynamoFaultPlan {
  return { unavailable: false, failNext: 0 };
}

export function emptyFaultPlan(): FaultPlan {
  return {
    goneIds: new Set(),
    errorIds: new Set(),
    throttleNext: 0,
    errorNext: 0,
    latencyMs: new Map(),
    dynamodb: emptyDynamoFaultPlan(),
  };
}

/** DynamoDB API operations (`X-Amz-Target: DynamoDB_20120810.<name>`), to catch typos in plans. */
export const DYNAMODB_OPERATIONS = [
  'BatchExecuteStatement',
  'BatchGetItem',
  'BatchWriteItem',
  'CreateBackup',
  'CreateGlobalTable',
  'CreateTable',
  'DeleteBackup',
  'DeleteItem',
  'DeleteResourcePolicy',
  'DeleteTable',
  'DescribeBackup',
  'DescribeContinuousBackups',
  'DescribeContributorInsights',
  'DescribeEndpoints',
  'DescribeExport',
  'DescribeGlobalTable',
  'DescribeGlobalTableSettings',
  'DescribeImport',
  'DescribeKinesisStreamingDestination',
  'DescribeLimits',
  'DescribeTable',
  'DescribeTableReplicaAutoScaling',
  'DescribeTimeToLive',
  'DisableKinesisStreamingDestination',
  'EnableKinesisStreamingDestination',
  'ExecuteStatement',
  'ExecuteTransaction',
  'ExportTableToPointInTime',
  'GetItem',
  'GetResourcePolicy',
  'ImportTable',
  'ListBackups',
  'ListContributorInsights',
  'ListExports',
  'ListGlobalTables',
  'ListImports',
  'ListTables',
  'ListTagsOfResource',
  'PutItem',
  'PutResourcePolicy',
  'Query',
  'RestoreTableFromBackup',
  'RestoreTableToPointInTime',
  'Scan',
  'TagResource',
  'TransactGetItems',
  'TransactWriteItems',
  'UntagResource',
  'UpdateContinuousBackups',
  'UpdateContributorInsights',
  'UpdateGlobalTable',
  'UpdateGlobalTableSettings',
  'UpdateItem',
  'UpdateKinesisStreamingDestination',
  'UpdateTable',
  'UpdateTableReplicaAutoScaling',
  'UpdateTimeToLive',
] as const;

const DynamoFaultPlanJsonSchema = z
  .object({
    unavailable: z.boolean().default(false),
    failNext: z.number().int().min(0).max(1_000_000).default(0),
    operations: z.array(z.enum(DYNAMODB_OPERATIONS)).min(1).max(DYNAMODB_OPERATIONS.length).optional(),
    tables: z.array(z.string().min(1).max(1024)).min(1).max(100).optional(),
  })
  .strict();

/** The JSON form accepted by `POST /_local/faults` (and returned by GET). */
export const FaultPlanJsonSchema = z
  .object({
    goneIds: z.array(z.string().min(1)).max(10_000).default([]),
    errorIds: z.array(z.string().min(1)).max(10_000).default([]),
    throttleNext: z.number().int().min(0).max(1_000_000).default(0),
    errorNext: z.number().int().min(0).max(1_000_000).default(0),
    latencyMs: z.record(z.string().min(1), z.number().int().min(0).max(60_000)).default({}),
    dynamodb: DynamoFaultPlanJsonSchema.optional(),
  })
  .strict();
/** A validated plan (defaults applied). */
export type FaultPlanJson = z.output<typeof FaultPlanJsonSchema>;
/** A plan as sent or returned: every field optional. */
export type FaultPlanJsonInput = z.input<typeof FaultPlanJsonSchema>;

/** Replaces the plan's contents in place (the gateway and the DynamoDB proxy keep its reference). */
export function setFaultPlan(plan: FaultPlan, json: FaultPlanJson): void {
  plan.goneIds = new Set(json.goneIds);
  plan.errorIds = new Set(json.errorIds);
  plan.throttleNext = json.throttleNext;
  plan.errorNext = json.errorNext;
  plan.latencyMs = new Map(Object.entries(json.latencyMs));
  const dynamodb = emptyDynamoFaultPlan();
  if (json.dynamodb) {
    dynamodb.unavailable = json.dynamodb.unavailable;
    dynamodb.failNext = json.dynamodb.failNext;
    if (json.dynamodb.operations) dynamodb.operations = new Set(json.dynamodb.operations);
    if (json.dynamodb.tables) dynamodb.tables = new Set(json.dynamodb.tables);
  }
  plan.dynamodb = dynamodb;
}

export function clearFaultPlan(plan: FaultPlan): void {
  setFaultPlan(plan, FaultPlanJsonSchema.parse({}));
}

function dynamoFaultPlanIsEmpty(d: DynamoFaultPlan): boolean {
  return !d.unavailable && d.failNext === 0 && d.operations === undefined && d.tables === undefined;
}

/**
 * The plan as JSON. `errorIds` and `dynamodb` appear only when set, so an empty plan reads as
 * it always has: `{"goneIds":[],"throttleNext":0,"errorNext":0,"latencyMs":{}}`.
 */
export function faultPlanToJson(plan: FaultPlan): FaultPlanJsonInput {
  const json: FaultPlanJsonInput = {
    goneIds: [...plan.goneIds],
    throttleNext: plan.throttleNext,
    errorNext: plan.errorNext,
    latencyMs: Object.fromEntries(plan.latencyMs),
  };
  if (plan.errorIds.size > 0) json.errorIds = [...plan.errorIds];
  const d = plan.dynamodb;
  if (!dynamoFaultPlanIsEmpty(d)) {
    json.dynamodb = {
      unavailable: d.unavailable,
      failNext: d.failNext,
      ...(d.operations ? { operations: [...d.operations] as Array<(typeof DYNAMODB_OPERATIONS)[number]> } : {}),
      ...(d.tables ? { tables: [...d.tables] } : {}),
    };
  }
  return json;
}

/** Where the gateway serves the plan, next to the management API (only with faults on). */
export const FAULTS_PATH = '/_local/faults';

/**
 * The control endpoint at `FAULTS_PATH`: GET reads the plan, POST replaces it (JSON, validated;
 * 400 BadRequestException otherwise), DELETE clears it. Each answers with the plan as it is now.
 */
export async function handleFaultControl(req: IncomingMessage, res: ServerResponse, plan: FaultPlan): Promise<void> {
  if (req.method === 'GET') return sendJson(res, 200, faultPlanToJson(plan));
  if (req.method === 'DELETE') {
    clearFaultPlan(plan);
    return sendJson(res, 200, faultPlanToJson(plan));
  }
  if (req.method !== 'POST')
    return sendAwsError(res, 405, 'MethodNotAllowedException', `${req.method} is not supported`);
  let json: unknown;
  try {
    json = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8'));
  } catch (err) {
    return sendAwsError(res, 400, 'BadRequestException', `body must be JSON: ${errorMessage(err)}`);
  }
  const parsed = FaultPlanJsonSchema.safeParse(json);
  if (!parsed.success) return sendAwsError(res, 400, 'BadRequestException', parsed.error.message);
  setFaultPlan(plan, parsed.data);
  return sendJson(res, 200, faultPlanToJson(plan));
}

export interface InjectedError {
  status: number;
  /** The AWS error name (`x-amzn-ErrorType`). */
  type: string;
  message: string;
}

export type ManagementOperation = 'post' | 'get' | 'delete';

/** The fault for one management call; consumes the throttle/error counters on posts. */
export function nextFault(
  plan: FaultPlan,
  operation: ManagementOperation,
  connectionId: string,
): { delayMs: number; error?: InjectedError } {
  const delayMs = plan.latencyMs.get(connectionId) ?? 0;
  if (plan.goneIds.has(connectionId))
    return { delayMs, error: { status: 410, type: 'GoneException', message: 'Connection is gone (injected fault)' } };
  if (plan.errorIds.has(connectionId)) {
    return {
      delayMs,
      error: { status: 500, type: 'InternalServerErrorException', message: 'Internal server error (injected fault)' },
    };
  }
  if (operation !== 'post') return { delayMs };
  if (plan.throttleNext > 0) {
    plan.throttleNext -= 1;
    return {
      delayMs,
      error: { status: 429, type: 'LimitExceededException', message: 'Rate exceeded (injected fault)' },
    };
  }
  if (plan.errorNext > 0) {
    plan.errorNext -= 1;
    return {
      delayMs,
      error: { status: 500, type: 'InternalServerErrorException', message: 'Internal server error (injected fault)' },
    };
  }
  return { delayMs };
}

/** The AWS JSON 1.0 `__type` of an injected DynamoDB error. */
export const DYNAMODB_INTERNAL_ERROR_TYPE = 'com.amazonaws.dynamodb.v20120810#InternalServerError';

/** A table name, or the name in a table ARN (`arn:aws:dynamodb:…:table/<name>`). */
function tableNameOf(nameOrArn: string): string {
  return /:table\/([^/]+)/.exec(nameOrArn)?.[1] ?? nameOrArn;
}

function dynamoRequestMatches(d: DynamoFaultPlan, operation: string | undefined, tables: readonly string[]): boolean {
  if (d.operations && (operation === undefined || !d.operations.has(operation))) return false;
  if (d.tables) {
    const wanted = d.tables;
    if (!tables.some((t) => wanted.has(t) || wanted.has(tableNameOf(t)))) return false;
  }
  return true;
}

/** Whether the DynamoDB plan needs the request's table names (so the body is parsed only then). */
export function dynamoFaultNeedsTables(plan: FaultPlan): boolean {
  const d = plan.dynamodb;
  return (d.unavailable || d.failNext > 0) && d.tables !== undefined;
}

/**
 * The fault for one DynamoDB request (`operation` from `X-Amz-Target`, the table names it
 * touches); consumes `failNext` when it answers with an error.
 */
export function nextDynamoFault(
  plan: FaultPlan,
  operation: string | undefined,
  tables: readonly string[],
): InjectedError | undefined {
  const d = plan.dynamodb;
  if (!d.unavailable && d.failNext <= 0) return undefined;
  if (!dynamoRequestMatches(d, operation, tables)) return undefined;
  if (!d.unavailable) d.failNext -= 1;
  const why = d.unavailable ? 'DynamoDB is unavailable' : 'DynamoDB request failed';
  return { status: 500, type: DYNAMODB_INTERNAL_ERROR_TYPE, message: `${why} (injected fault)` };
}
