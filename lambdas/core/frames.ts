/** Parsing a client frame into a typed message, with client-facing error text. */

import { ACTION_SCHEMAS, type Action, isAction } from '../contract/index.js';
import type * as z from '../contract/zod.js';

export type FrameResult<T> =
  | { ok: true; message: T }
  | { ok: false; problem: 'bad_request' | 'unknown_action'; message: string };

/** Names the first failing field, e.g. `eventTypes.0: must be an event type …`. */
export function describeIssues(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid message';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** Parses a frame body as JSON; only objects are messages. */
export function parseJsonObject(body: string | null | undefined): FrameResult<Record<string, unknown>> {
  if (body === undefined || body === null || body === '')
    return { ok: false, problem: 'bad_request', message: 'empty frame: send a JSON object' };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'bad_request', message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'bad_request', message: 'frame must be a JSON object with an "action" field' };
  }
  return { ok: true, message: value as Record<string, unknown> };
}

/** Parses a frame for one action: JSON object, then that action's schema. */
export function parseAction<A extends Action>(
  body: string | null | undefined,
  action: A,
): FrameResult<z.infer<(typeof ACTION_SCHEMAS)[A]>> {
  const json = parseJsonObject(body);
  if (!json.ok) return json;
  const parsed = ACTION_SCHEMAS[action].safeParse(json.message);
  if (!parsed.success) return { ok: false, problem: 'bad_request', message: describeIssues(parsed.error) };
  return { ok: true, message: parsed.data as z.infer<(typeof ACTION_SCHEMAS)[A]> };
}

/**
 * What `$default` tells a client: not JSON / not an object → bad_request; no or unknown
 * action → unknown_action; a known action whose body fails its schema → bad_request naming
 * the field.
 */
export function diagnoseFrame(body: string | null | undefined): {
  problem: 'bad_request' | 'unknown_action';
  message: string;
} {
  const json = parseJsonObject(body);
  if (!json.ok) return json;
  const action = json.message.action;
  if (!isAction(action)) {
    return {
      problem: 'unknown_action',
      message:
        action === undefined ? 'missing "action" field' : `unknown action ${JSON.stringify(action).slice(0, 64)}`,
    };
  }
  const result = parseAction(body, action);
  return result.ok ? { problem: 'bad_request', message: `"${action}" was not routed; send it again` } : result;
}
