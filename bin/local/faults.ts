/**
 * Test-only fault injection for the management API: 410 for chosen connections, throttling
 * (429 LimitExceededException) and server errors for the next N posts, per-connection latency.
 * Off by default; `npm start` exposes it only with LOCAL_FAULTS=1 (POST/GET/DELETE /_local/faults).
 */
import { z } from 'zod';

export interface FaultPlan {
  /** Answered 410 GoneException even while connected. */
  goneIds: Set<string>;
  /** The next N PostToConnection calls answer 429 LimitExceededException. */
  throttleNext: number;
  /** The next N PostToConnection calls answer 500 InternalServerErrorException. */
  errorNext: number;
  /** Delay before answering any management call for a connection. */
  latencyMs: Map<string, number>;
}

export function emptyFaultPlan(): FaultPlan {
  return { goneIds: new Set(), throttleNext: 0, errorNext: 0, latencyMs: new Map() };
}

/** The JSON form accepted by `POST /_local/faults` (and returned by GET). */
export const FaultPlanJsonSchema = z
  .object({
    goneIds: z.array(z.string().min(1)).max(10_000).default([]),
    throttleNext: z.number().int().min(0).max(1_000_000).default(0),
    errorNext: z.number().int().min(0).max(1_000_000).default(0),
    latencyMs: z.record(z.string().min(1), z.number().int().min(0).max(60_000)).default({}),
  })
  .strict();
export type FaultPlanJson = z.infer<typeof FaultPlanJsonSchema>;

/** Replaces the plan's contents in place (the gateway keeps its reference). */
export function setFaultPlan(plan: FaultPlan, json: FaultPlanJson): void {
  plan.goneIds = new Set(json.goneIds);
  plan.throttleNext = json.throttleNext;
  plan.errorNext = json.errorNext;
  plan.latencyMs = new Map(Object.entries(json.latencyMs));
}

export function clearFaultPlan(plan: FaultPlan): void {
  setFaultPlan(plan, FaultPlanJsonSchema.parse({}));
}

export function faultPlanToJson(plan: FaultPlan): FaultPlanJson {
  return {
    goneIds: [...plan.goneIds],
    throttleNext: plan.throttleNext,
    errorNext: plan.errorNext,
    latencyMs: Object.fromEntries(plan.latencyMs),
  };
}

export interface InjectedError {
  status: number;
  /** The AWS error name (`x-amzn-ErrorType`). */
  type: string;
  message: string;
}

export type ManagementOperation = 'post' | 'get' | 'delete';

/** The fault for one management call; consumes the throttle/error counters on posts. */
export function nextFault(plan: FaultPlan, operation: ManagementOperation, connectionId: string): { delayMs: number; error?: InjectedError } {
  const delayMs = plan.latencyMs.get(connectionId) ?? 0;
  if (plan.goneIds.has(connectionId)) return { delayMs, error: { status: 410, type: 'GoneException', message: 'Connection is gone (injected fault)' } };
  if (operation !== 'post') return { delayMs };
  if (plan.throttleNext > 0) {
    plan.throttleNext -= 1;
    return { delayMs, error: { status: 429, type: 'LimitExceededException', message: 'Rate exceeded (injected fault)' } };
  }
  if (plan.errorNext > 0) {
    plan.errorNext -= 1;
    return { delayMs, error: { status: 500, type: 'InternalServerErrorException', message: 'Internal server error (injected fault)' } };
  }
  return { delayMs };
}
