/**
 * The debug console on the local HTTP API port, and its local-only tools. A deployed stack has
 * none of this: it lives in bin/local/ only, like the fault switch.
 *
 * - `GET /console`: the console page (client/console/), built from source on the first visit, so a
 *   fresh clone serves it without `npm run build`.
 * - `GET /_local/info`: tells the page it runs on a local runtime, and where the WebSocket is.
 * - `POST /_local/token` `{tenant, user, roles?, ttl?}` → `{token}`: a dev token signed with the
 *   local secret, exactly as `npm run token` makes it (same checks, same JWT_* settings).
 * - `POST /_local/emit` `{type, tenant, data?, users?, roles?, source?, priority?}` → the PutEvents
 *   result: one event through the local EventBridge, as `npm run emit` puts it (`source` is the
 *   EventBridge source, `priority` goes into the detail; a bad one is a 400, as the CLI's).
 *
 * The tools answer the console's own origin only: no CORS (a preflight gets 405), a POST needs
 * `content-type: application/json` (which a cross-site form cannot send) and, when the browser
 * sends an Origin, the same host as the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { buildConsole } from '../../client/build.js';
import { Env } from '../../lambdas/contract/index.js';
import { emitOptionsFromArgs } from '../emit.js';
import { createDevToken, tokenOptionsFromArgs } from '../token.js';
import { UsageError } from './cli.js';
import { BodyTooLargeError, readBody, sendJson } from './http.js';
import type { Log } from './log.js';

export const CONSOLE_PATH = '/console';
export const LOCAL_TOOLS = { info: '/_local/info', token: '/_local/token', emit: '/_local/emit' } as const;

export interface LocalConsoleOptions {
  /** The runtime's URLs; read when asked (the HTTP API's port is known once it listens). */
  urls: () => { wsUrl: string; httpUrl: string; eventsUrl: string };
  log: Log;
}

export interface LocalConsole {
  /** Answers the request and resolves true if it is the console's; false leaves it to the HTTP API. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): Promise<void>;
}

/** A request body field as a CLI argument, or nothing when absent or empty. */
function arg(flag: string, value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (typeof value === 'object') return [flag, JSON.stringify(value)];
  return [flag, String(value)];
}

export function localConsole(options: LocalConsoleOptions): LocalConsole {
  let events: EventBridgeClient | undefined;
  // Built on the first visit (a few hundred ms), then kept: runtimes that tests start never pay for it.
  let page: Promise<string> | undefined;
  const built = () =>
    (page ??= buildConsole().catch((err: unknown) => {
      options.log.error('the console page did not build', err);
      page = undefined; // the next visit tries again
      throw err;
    }));

  async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const raw = await readBody(req, 64 * 1024);
    const body: unknown = JSON.parse(raw.toString('utf8') || '{}');
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new UsageError('the body must be a JSON object');
    return body as Record<string, unknown>;
  }

  async function token(body: Record<string, unknown>): Promise<unknown> {
    if (process.env[Env.jwksUrl] || process.env[Env.jwtSecretArn])
      throw new UsageError(
        `this runtime verifies tokens with ${Env.jwksUrl} or ${Env.jwtSecretArn}: no local secret to sign with`,
      );
    const parsed = tokenOptionsFromArgs([
      ...arg('--tenant', body.tenant),
      ...arg('--user', body.user),
      ...arg('--roles', body.roles),
      ...arg('--ttl', body.ttl),
    ]);
    if (parsed === 'help') throw new UsageError('no options');
    return { token: await createDevToken(parsed) };
  }

  async function emit(body: Record<string, unknown>): Promise<unknown> {
    const parsed = emitOptionsFromArgs([
      ...arg('--type', body.type),
      ...arg('--tenant', body.tenant),
      ...arg('--data', body.data),
      ...arg('--source', body.source),
      ...arg('--priority', body.priority),
      ...arg('--audience-users', body.users),
      ...arg('--audience-roles', body.roles),
      '--endpoint',
      options.urls().eventsUrl,
    ]);
    if (parsed === 'help') throw new UsageError('no options');
    events ??= new EventBridgeClient(parsed.client);
    const out = await events.send(new PutEventsCommand({ Entries: [parsed.entry] }));
    return { FailedEntryCount: out.FailedEntryCount, Entries: out.Entries, entry: parsed.entry };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (path === CONSOLE_PATH || path === `${CONSOLE_PATH}/`) {
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, { message: 'GET only' }, { allow: 'GET, HEAD' });
        return true;
      }
      const html = await built().catch(() => undefined);
      if (html === undefined) {
        sendJson(res, 500, { message: 'the console page did not build: see the runtime log' });
        return true;
      }
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(html),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
      });
      res.end(req.method === 'HEAD' ? undefined : html);
      return true;
    }

    const tool = Object.entries(LOCAL_TOOLS).find(([, p]) => p === path)?.[0] as keyof typeof LOCAL_TOOLS | undefined;
    if (!tool) return false;
    const method = tool === 'info' ? 'GET' : 'POST';
    if (req.method !== method) {
      req.resume();
      sendJson(res, 405, { message: `${method} only` }, { allow: method });
      return true;
    }
    const origin = req.headers.origin;
    if (
      origin !== undefined &&
      origin !== 'null' &&
      URL.canParse(origin) &&
      new URL(origin).host !== req.headers.host
    ) {
      req.resume();
      sendJson(res, 403, { message: 'the local tools answer the console served by this runtime only' });
      return true;
    }
    if (tool === 'info') {
      const { wsUrl, httpUrl } = options.urls();
      sendJson(res, 200, { local: true, wsUrl, httpUrl });
      return true;
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      sendJson(res, 415, { message: 'send JSON (content-type: application/json)' });
      return true;
    }
    try {
      const body = await jsonBody(req);
      sendJson(res, 200, tool === 'token' ? await token(body) : await emit(body));
    } catch (err) {
      if (err instanceof UsageError || err instanceof SyntaxError || err instanceof BodyTooLargeError) {
        sendJson(res, 400, { message: err.message });
      } else {
        options.log.warn(`${path} failed`, err);
        sendJson(res, 502, { message: err instanceof Error ? err.message : String(err) });
      }
    }
    return true;
  }

  return {
    handle,
    async close() {
      events?.destroy();
      await page?.catch(() => undefined);
    },
  };
}
