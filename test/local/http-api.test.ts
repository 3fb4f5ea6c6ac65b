/**
 * The local HTTP API emulator on its own, with a stand-in handler that echoes its event:
 * payload 2.0 events and responses, API Gateway's 404, CORS, failures and timeouts.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowedOriginFor,
  type HttpApiEmulator,
  type HttpApiEvent,
  preflightHeaders,
  queryParametersOf,
  shapeResponse,
  startHttpApi,
} from '../../bin/local/http-api.js';
import type { LambdaHandler } from '../../bin/local/lambda.js';
import { HTTP_ROUTE_NAMES, HTTP_ROUTES } from '../../lambdas/contract/index.js';
import { handler as echo } from './fixtures/handlers/http.js';
import { memoryLog } from './helpers.js';

const ORIGIN = 'https://app.example.com';
let open: HttpApiEmulator;
let restricted: HttpApiEmulator;
const functions: string[] = [];

beforeAll(async () => {
  const log = memoryLog();
  open = await startHttpApi({
    host: '127.0.0.1',
    port: 0,
    handlerFor: () => echo as LambdaHandler,
    functionName: (name) => {
      functions.push(name);
      return `fn-${name}`;
    },
    allowedOrigins: [],
    handlerTimeoutMs: 300,
    log,
  });
  restricted = await startHttpApi({
    host: '127.0.0.1',
    port: 0,
    handlerFor: () => echo as LambdaHandler,
    allowedOrigins: [ORIGIN],
    log,
  });
});
afterAll(async () => {
  await open?.close();
  await restricted?.close();
});

const eventOf = async (res: Response) => (await res.json()) as HttpApiEvent;

describe('HTTP API emulator: events', () => {
  it('serves every contract route with a payload 2.0 event', async () => {
    for (const name of HTTP_ROUTE_NAMES) {
      const { path, routeKey } = HTTP_ROUTES[name];
      const res = await fetch(`${open.url}${path}`);
      expect(res.status).toBe(200);
      const event = await eventOf(res);
      expect(event).toMatchObject({
        version: '2.0',
        routeKey,
        rawPath: path,
        rawQueryString: '',
        isBase64Encoded: false,
        requestContext: {
          routeKey,
          stage: '$default',
          http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
        },
      });
      expect(event).not.toHaveProperty('queryStringParameters');
      expect(event).not.toHaveProperty('body');
      expect(typeof event.requestContext.requestId).toBe('string');
      expect(event.requestContext.timeEpoch).toBeGreaterThan(Date.now() - 60_000);
      expect(event.requestContext.time).toMatch(/^\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      expect(res.headers.get('apigw-requestid')).toBe(event.requestContext.requestId);
    }
    expect(new Set(functions)).toEqual(new Set(['http']));
  });

  it('lowercases header names, comma-joins repeated headers and query keys, and keeps the raw query string', async () => {
    // node:http sends repeated headers as they are (fetch would join them itself).
    const event = await new Promise<HttpApiEvent>((resolve, reject) => {
      const req = request(`${open.url}/events?types=goal.*&types=issue.created&after=evt_%2B1&limit=5`, {
        headers: [
          'Host',
          '127.0.0.1',
          'X-Custom',
          'a',
          'x-custom',
          'b',
          'Authorization',
          'Bearer t0k3n',
          'Cookie',
          'c1=v1; c2=v2',
        ],
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(JSON.parse(text) as HttpApiEvent));
      });
      req.on('error', reject);
      req.end();
    });
    expect(event.rawQueryString).toBe('types=goal.*&types=issue.created&after=evt_%2B1&limit=5');
    expect(event.queryStringParameters).toEqual({ types: 'goal.*,issue.created', after: 'evt_+1', limit: '5' });
    expect(event.headers['x-custom']).toBe('a,b');
    expect(event.headers.authorization).toBe('Bearer t0k3n');
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.cookies).toEqual(['c1=v1', 'c2=v2']);
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('decodes query values like API Gateway, and omits them without a query string', () => {
    expect(queryParametersOf('')).toBeUndefined();
    expect(queryParametersOf('since=2026-01-01T00%3A00%3A00Z&a=1&a=2')).toEqual({
      since: '2026-01-01T00:00:00Z',
      a: '1,2',
    });
  });
});

describe('HTTP API emulator: responses', () => {
  it('passes statusCode, headers, cookies and body through', async () => {
    const res = await fetch(`${open.url}/events?mode=teapot`);
    expect(res.status).toBe(418);
    expect(res.headers.get('x-echo')).toBe('yes');
    const cookies = await fetch(`${open.url}/events?mode=cookies`);
    expect(cookies.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
  });

  it('answers a bare object or string as 200 JSON', async () => {
    const bare = await fetch(`${open.url}/events?mode=bare`);
    expect(bare.status).toBe(200);
    expect(bare.headers.get('content-type')).toBe('application/json');
    expect(await bare.json()).toEqual({ hello: 'world' });
    const text = await fetch(`${open.url}/events?mode=string`);
    expect(await text.text()).toBe('plain');
    expect(
      shapeResponse({
        statusCode: 200,
        body: Buffer.from('hi').toString('base64'),
        isBase64Encoded: true,
      }).body.toString(),
    ).toBe('hi');
  });

  it('answers 404 {"message":"Not Found"} for an unknown path or another method, without invoking', async () => {
    const before = functions.length;
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/events/'],
      ['POST', '/events'],
      ['DELETE', '/status'],
      ['PUT', '/health'],
    ] as const) {
      const res = await fetch(`${open.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toEqual({ message: 'Not Found' });
    }
    expect(functions.length).toBe(before);
  });

  it('answers 500 when the function throws and 503 past the integration timeout', async () => {
    const failed = await fetch(`${open.url}/events?mode=throw`);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ message: 'Internal Server Error' });
    const slow = await fetch(`${open.url}/events?mode=slow&ms=1000`);
    expect(slow.status).toBe(503);
    expect(await slow.json()).toEqual({ message: 'Service Unavailable' });
  });
});

describe('HTTP API emulator: CORS', () => {
  const preflight = (url: string, origin: string, method = 'GET', headers = 'authorization') =>
    fetch(`${url}/events`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it('answers a preflight itself, for any origin when none is configured', async () => {
    const before = functions.length;
    const res = await preflight(open.url, 'https://anywhere.example');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization');
    expect(res.headers.get('access-control-max-age')).toBe('3600');
    expect(functions.length).toBe(before);
  });

  it('allows only the configured origins, methods and headers', async () => {
    const allowed = await preflight(restricted.url, ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('vary')).toBe('origin');
    for (const refused of [
      await preflight(restricted.url, 'https://evil.example'),
      await preflight(restricted.url, ORIGIN, 'DELETE'),
      await preflight(restricted.url, ORIGIN, 'GET', 'authorization,x-secret'),
    ]) {
      expect(refused.status).toBe(204);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it("sets access-control-allow-origin on answers to allowed origins, replacing the function's", async () => {
    const fromApp = await fetch(`${restricted.url}/health`, { headers: { origin: ORIGIN } });
    expect(fromApp.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const fromEvil = await fetch(`${restricted.url}/health`, { headers: { origin: 'https://evil.example' } });
    expect(fromEvil.headers.get('access-control-allow-origin')).toBeNull();
    const notFound = await fetch(`${open.url}/nope`, { headers: { origin: 'https://x.example' } });
    expect(notFound.headers.get('access-control-allow-origin')).toBe('*');
    const noOrigin = await fetch(`${open.url}/health`);
    expect(noOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('decides origins and preflights with pure rules', () => {
    expect(allowedOriginFor('https://a.example', [])).toBe('*');
    expect(allowedOriginFor('https://a.example', ['https://a.example'])).toBe('https://a.example');
    expect(allowedOriginFor('https://b.example', ['https://a.example'])).toBeUndefined();
    expect(preflightHeaders(undefined, 'GET', undefined, [])).toEqual({});
    expect(preflightHeaders('https://a.example', 'get', 'Authorization', [])).toMatchObject({
      'access-control-allow-origin': '*',
    });
  });
});
