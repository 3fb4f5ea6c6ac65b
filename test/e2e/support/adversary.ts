/**
 * Small helpers for the adversarial, isolation and log-hygiene e2e tests: hand-built JWTs (no
 * library safeguards in the way), a "next frame" request that surfaces any reply (also the
 * gateway's `{message: "Internal server error"}` frames, which carry no `type`), an ordering
 * barrier, and the local EventBridge control endpoints.
 */
import { createHmac } from 'node:crypto';
import type { Client, Frame, Runtime } from '../harness.js';

export const b64url = (input: string | Uint8Array): string => Buffer.from(input).toString('base64url');

/** `header.payload.signature` from raw JSON values; the signature is given as is. */
export function rawJwt(header: unknown, payload: unknown, signature = ''): string {
  const p = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return `${b64url(JSON.stringify(header))}.${b64url(p)}.${signature}`;
}

/** HS256 over `header.payload` with any byte string as the key (what an attacker would do). */
export function hs256(header: Record<string, unknown>, payload: unknown, key: string | Uint8Array): string {
  const p = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const input = `${b64url(JSON.stringify({ ...header, alg: 'HS256' }))}.${b64url(p)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

export function segments(token: string): { header: string; payload: string; signature: string } {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return { header, payload, signature };
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Sends `message` and resolves with the very next frame the connection receives, whatever it is. */
export async function next(c: Client, message: unknown, timeoutMs = 5_000): Promise<Frame> {
  const seen = c.frames.length;
  c.send(message);
  return c.waitFor((f) => c.frames.indexOf(f) >= seen, timeoutMs, `reply to ${describe(message)}`);
}

/**
 * An ordering barrier: a ping sent now is answered after every frame already written to this
 * socket (TCP keeps order), so once the pong is here, everything posted before has arrived.
 */
export async function barrier(c: Client): Promise<void> {
  const seen = c.frames.length;
  c.send({ action: 'ping' });
  await c.waitFor((f) => c.frames.indexOf(f) >= seen && f.type === 'pong', 5_000, 'pong (barrier)');
}

function describe(message: unknown): string {
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

export interface Invocation {
  eventId: string;
  detailType: string;
  tenantId: string;
  attempts: number;
  result?: { status: string; reason?: string; message?: string; [k: string]: unknown };
  error?: string;
}

export async function invocations(rt: Runtime): Promise<Invocation[]> {
  const res = await fetch(`${rt.eventsUrl}/_local/invocations`);
  if (!res.ok) throw new Error(`invocations endpoint answered ${res.status}`);
  return (await res.json()) as Invocation[];
}

export async function deadLetters(rt: Runtime): Promise<unknown[]> {
  const res = await fetch(`${rt.eventsUrl}/_local/dlq`);
  if (!res.ok) throw new Error(`dlq endpoint answered ${res.status}`);
  return (await res.json()) as unknown[];
}
