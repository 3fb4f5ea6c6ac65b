/**
 * The bench's latency breakdown: per event, when PutEvents was sent (by the bench), the
 * broadcaster's step timestamps (its result's `timings`, kept by the local runtime's invocation
 * history) and when the clients received the frame. All in epoch milliseconds with a fraction
 * (`performance.timeOrigin + performance.now()`), comparable across the local processes.
 */
import type { BroadcastTimings } from '../../lambdas/core/broadcast.js';
import { percentile } from './stats.js';

export interface EventSample {
  sentAt: number;
  /** When the local EventBridge accepted it and invoked the target (absent from runtimes that do not record them). */
  acceptedAt?: number;
  invokedAt?: number;
  timings?: BroadcastTimings;
  /** Every client's receipt of this event. */
  received: number[];
}

/** Epoch milliseconds with sub-millisecond resolution. */
export const wallNow = () => performance.timeOrigin + performance.now();

export interface EventTimings {
  acceptedAt?: number;
  invokedAt?: number;
  timings?: BroadcastTimings;
}

/**
 * Reads when the local EventBridge accepted each event and the broadcaster's timings from its
 * invocation history, by EventBridge id.
 */
export async function fetchTimings(eventsUrl: string): Promise<Map<string, EventTimings>> {
  const res = await fetch(`${eventsUrl}/_local/invocations`);
  const records = (await res.json()) as Array<{
    eventId: string;
    acceptedAt?: number;
    invokedAt?: number;
    result?: { timings?: BroadcastTimings };
  }>;
  const out = new Map<string, EventTimings>();
  for (const r of records) {
    out.set(r.eventId, {
      ...(r.acceptedAt !== undefined ? { acceptedAt: r.acceptedAt } : {}),
      ...(r.invokedAt !== undefined ? { invokedAt: r.invokedAt } : {}),
      ...(r.result?.timings ? { timings: r.result.timings } : {}),
    });
  }
  return out;
}

export interface BreakdownRow {
  step: string;
  /** Step duration (from the previous mark). */
  p50: number;
  p95: number;
  p99: number;
  /** Since PutEvents was sent. */
  cumP50: number;
  cumP95: number;
  cumP99: number;
}

const diff = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a - b);

/** Steps, each from the previous mark, and cumulative from PutEvents; plus per-delivery latency. */
export function breakdown(samples: EventSample[]): { rows: BreakdownRow[]; perDelivery: number[] } {
  const complete = samples.filter((s) => s.timings?.recipientsRead !== undefined && s.timings.firstSent !== undefined);
  const marks: Array<[string, (s: EventSample) => number | undefined]> = [
    ['PutEvents → bus accepted', (s) => s.acceptedAt],
    ["bus queue (the tenant's previous event)", (s) => s.invokedAt],
    ['bus → broadcaster start (worker hop)', (s) => s.timings!.started],
    ['event-log copy written', (s) => s.timings!.appended],
    ['recipient read (first page; id marker beside it)', (s) => s.timings!.recipientsRead!],
    ['first post answered', (s) => s.timings!.firstSent!],
    ['last post answered', (s) => s.timings!.finished],
    ['first client receipt', (s) => Math.min(...s.received)],
    ['last client receipt', (s) => Math.max(...s.received)],
  ];
  const rows: BreakdownRow[] = [];
  let previous = (s: EventSample): number | undefined => s.sentAt;
  const defined = (xs: Array<number | undefined>) => xs.filter((x): x is number => x !== undefined && !Number.isNaN(x));
  for (const [step, at] of marks) {
    const prev = previous;
    const receipt = step.endsWith('client receipt');
    // Receipts overlap the posts (a frame arrives before its post's answer): cumulative only.
    const d = receipt ? [] : defined(complete.map((s) => diff(at(s), prev(s))));
    const cum = defined(complete.map((s) => diff(at(s), s.sentAt)));
    rows.push({
      step,
      p50: percentile(d, 0.5),
      p95: percentile(d, 0.95),
      p99: percentile(d, 0.99),
      cumP50: percentile(cum, 0.5),
      cumP95: percentile(cum, 0.95),
      cumP99: percentile(cum, 0.99),
    });
    // A mark no sample has (a baseline runtime without it) leaves the next step measured from the one before.
    if (!receipt && cum.length > 0) previous = at;
  }
  const perDelivery = samples.flatMap((s) => s.received.map((r) => r - s.sentAt));
  return { rows, perDelivery };
}
