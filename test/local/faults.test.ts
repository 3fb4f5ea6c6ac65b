/** The fault plan: JSON validation, its round trip, and which calls each fault selects. */
import { describe, expect, it } from 'vitest';
import {
  clearFaultPlan,
  DYNAMODB_INTERNAL_ERROR_TYPE,
  emptyFaultPlan,
  type FaultPlan,
  type FaultPlanJsonInput,
  FaultPlanJsonSchema,
  faultPlanToJson,
  nextDynamoFault,
  nextFault,
  setFaultPlan,
} from '../../bin/local/faults.js';

function planOf(json: FaultPlanJsonInput): FaultPlan {
  const plan = emptyFaultPlan();
  setFaultPlan(plan, FaultPlanJsonSchema.parse(json));
  return plan;
}

describe('fault plan JSON', () => {
  it('reads an empty plan in the original shape (new fields only when set)', () => {
    expect(faultPlanToJson(emptyFaultPlan())).toEqual({ goneIds: [], throttleNext: 0, errorNext: 0, latencyMs: {} });
  });

  it('round-trips every field', () => {
    const json = {
      goneIds: ['a'],
      errorIds: ['b'],
      throttleNext: 2,
      errorNext: 3,
      latencyMs: { c: 2000 },
      dynamodb: { unavailable: false, failNext: 4, operations: ['Query', 'PutItem'], tables: ['t1'] },
    } satisfies FaultPlanJsonInput;
    const plan = planOf(json);
    expect(faultPlanToJson(plan)).toEqual(json);
    expect(FaultPlanJsonSchema.parse(faultPlanToJson(plan))).toEqual(json);
    clearFaultPlan(plan);
    expect(faultPlanToJson(plan)).toEqual({ goneIds: [], throttleNext: 0, errorNext: 0, latencyMs: {} });
  });

  it('applies defaults inside dynamodb', () => {
    expect(faultPlanToJson(planOf({ dynamodb: { unavailable: true } })).dynamodb).toEqual({
      unavailable: true,
      failNext: 0,
    });
    // An inactive, unfiltered dynamodb part is the empty plan.
    expect(faultPlanToJson(planOf({ dynamodb: {} })).dynamodb).toBeUndefined();
  });

  it.each([
    ['unknown top-level field', { bogus: 1 }],
    ['unknown dynamodb field', { dynamodb: { down: true } }],
    ['unknown operation (case matters)', { dynamodb: { unavailable: true, operations: ['query'] } }],
    ['empty operations', { dynamodb: { unavailable: true, operations: [] } }],
    ['empty tables', { dynamodb: { unavailable: true, tables: [] } }],
    ['negative failNext', { dynamodb: { failNext: -1 } }],
    ['fractional failNext', { dynamodb: { failNext: 1.5 } }],
    ['non-boolean unavailable', { dynamodb: { unavailable: 'yes' } }],
    ['empty errorIds entry', { errorIds: [''] }],
  ])('refuses %s', (_name, json) => {
    expect(FaultPlanJsonSchema.safeParse(json).success).toBe(false);
  });
});

describe('management faults', () => {
  it('answers 500 forever for errorIds, on every operation, without using the counters', () => {
    const plan = planOf({ errorIds: ['bad'], errorNext: 1 });
    for (let i = 0; i < 10; i++)
      expect(nextFault(plan, 'post', 'bad').error).toMatchObject({ status: 500, type: 'InternalServerErrorException' });
    expect(nextFault(plan, 'get', 'bad').error?.status).toBe(500);
    expect(nextFault(plan, 'delete', 'bad').error?.status).toBe(500);
    expect(plan.errorNext).toBe(1);
    expect(nextFault(plan, 'post', 'good').error?.status).toBe(500); // errorNext, for anyone
    expect(nextFault(plan, 'post', 'good').error).toBeUndefined();
  });

  it('gone wins over errorIds; latency applies to both', () => {
    const plan = planOf({ goneIds: ['x'], errorIds: ['x', 'y'], latencyMs: { y: 50 } });
    expect(nextFault(plan, 'post', 'x').error?.status).toBe(410);
    expect(nextFault(plan, 'post', 'y')).toMatchObject({ delayMs: 50, error: { status: 500 } });
  });
});

describe('DynamoDB faults', () => {
  const error = { status: 500, type: DYNAMODB_INTERNAL_ERROR_TYPE };

  it('does nothing by default', () => {
    const plan = emptyFaultPlan();
    expect(nextDynamoFault(plan, 'Query', ['t'])).toBeUndefined();
  });

  it('fails every request while unavailable', () => {
    const plan = planOf({ dynamodb: { unavailable: true } });
    for (const op of ['Query', 'PutItem', 'GetItem', undefined])
      expect(nextDynamoFault(plan, op, [])).toMatchObject(error);
    expect(nextDynamoFault(plan, 'Query', [])?.message).toMatch(/unavailable/);
  });

  it('fails the next N requests, then none', () => {
    const plan = planOf({ dynamodb: { failNext: 2 } });
    expect(nextDynamoFault(plan, 'GetItem', ['t'])).toMatchObject(error);
    expect(nextDynamoFault(plan, 'PutItem', ['t'])).toMatchObject(error);
    expect(nextDynamoFault(plan, 'GetItem', ['t'])).toBeUndefined();
    expect(plan.dynamodb.failNext).toBe(0);
  });

  it('selects by operation and table; others pass and do not use failNext', () => {
    const plan = planOf({ dynamodb: { failNext: 1, operations: ['Query'], tables: ['conns'] } });
    expect(nextDynamoFault(plan, 'PutItem', ['conns'])).toBeUndefined();
    expect(nextDynamoFault(plan, 'Query', ['events'])).toBeUndefined();
    expect(nextDynamoFault(plan, 'Query', [])).toBeUndefined();
    expect(nextDynamoFault(plan, undefined, ['conns'])).toBeUndefined();
    expect(plan.dynamodb.failNext).toBe(1);
    expect(nextDynamoFault(plan, 'Query', ['conns'])).toMatchObject(error);
    expect(nextDynamoFault(plan, 'Query', ['conns'])).toBeUndefined();
  });

  it('matches a table given by ARN, and a batch naming any listed table', () => {
    const plan = planOf({ dynamodb: { unavailable: true, tables: ['conns'] } });
    expect(nextDynamoFault(plan, 'GetItem', ['arn:aws:dynamodb:local:000000000000:table/conns'])).toMatchObject(error);
    expect(nextDynamoFault(plan, 'BatchWriteItem', ['events', 'conns'])).toMatchObject(error);
    expect(nextDynamoFault(plan, 'BatchWriteItem', ['events'])).toBeUndefined();
  });
});
