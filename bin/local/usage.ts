/**
 * Billable operations the local runtime observes, counted the way AWS meters them: WebSocket
 * messages in 32 KB units (both directions), Lambda invocations and their milliseconds by
 * function, and EventBridge events published (64 KB units). `npm run cost` reads them at
 * `{managementUrl}/_local/usage` (GET; DELETE resets). DynamoDB request units are counted by
 * the metering proxy in `bin/cost/dynamo-meter.ts`.
 *
 * One runtime per process (see runtime.ts), so one meter per process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http.js';

export const USAGE_PATH = '/_local/usage';

/** API Gateway meters WebSocket messages in 32 KB increments. */
const WS_MESSAGE_UNIT = 32 * 1024;
/** EventBridge meters PutEvents entries in 64 KB increments. */
const EVENT_UNIT = 64 * 1024;

export interface UsageSnapshot {
  wsMessagesIn: number;
  wsMessagesOut: number;
  lambda: Record<string, { invocations: number; ms: number }>;
  eventBridgeEvents: number;
}

const units = (bytes: number, unit: number) => Math.max(1, Math.ceil(bytes / unit));

class UsageMeter {
  private state: UsageSnapshot = UsageMeter.empty();

  private static empty(): UsageSnapshot {
    return { wsMessagesIn: 0, wsMessagesOut: 0, lambda: {}, eventBridgeEvents: 0 };
  }

  messageIn(bytes: number): void {
    this.state.wsMessagesIn += units(bytes, WS_MESSAGE_UNIT);
  }
  messageOut(bytes: number): void {
    this.state.wsMessagesOut += units(bytes, WS_MESSAGE_UNIT);
  }
  /** Lambda bills each invocation's duration rounded up to the millisecond. */
  invocation(functionName: string, ms: number): void {
    const f = (this.state.lambda[functionName] ??= { invocations: 0, ms: 0 });
    f.invocations += 1;
    f.ms += Math.ceil(ms);
  }
  eventPublished(bytes: number): void {
    this.state.eventBridgeEvents += units(bytes, EVENT_UNIT);
  }
  snapshot(): UsageSnapshot {
    return structuredClone(this.state);
  }
  reset(): void {
    this.state = UsageMeter.empty();
  }
}

export const usage = new UsageMeter();

/** `GET` answers the counts, `DELETE` resets them. */
export function handleUsageControl(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  if (req.method === 'DELETE') usage.reset();
  if (req.method === 'GET' || req.method === 'DELETE') {
    sendJson(res, 200, usage.snapshot());
    return;
  }
  sendJson(res, 405, { message: `${req.method} is not supported on ${USAGE_PATH}: use GET or DELETE` });
}
