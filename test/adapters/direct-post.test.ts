/**
 * directPost against a real HTTP server on 127.0.0.1, side by side with the SDK client's own
 * PostToConnectionCommand on the same client: the same request on the wire, a signature that an
 * independent SigV4 verification accepts, and the same outcome through ManagementApiSender for
 * every response API Gateway gives.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { HttpRequest } from '@smithy/core/transport';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { directPost } from '../../lambdas/adapters/direct-post.js';
import { createManagementClient, createSender } from '../../lambdas/adapters/management.js';
import { ManagementApiSender } from '../../lambdas/adapters/management-sender.js';
import { SendError } from '../../lambdas/core/errors.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const region = 'eu-west-1';

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

let server: Server;
let port: number;
let captured: Captured[] = [];
let replies: Reply[] = [];
let sockets = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      const reply = replies.shift() ?? { status: 200 };
      const body = reply.body ?? '';
      res.writeHead(reply.status, { 'content-length': String(Buffer.byteLength(body)), ...reply.headers });
      res.end(body);
    });
  });
  server.on('connection', () => {
    sockets++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  captured = [];
  replies = [];
  sockets = 0;
});

function client(path = '/dev', maxSockets = 4): ApiGatewayManagementApiClient {
  return createManagementClient(maxSockets, { endpoint: `http://127.0.0.1:${port}${path}`, region, credentials });
}

async function viaSdk(c: ApiGatewayManagementApiClient, id: string, payload: string): Promise<void> {
  await c.send(new PostToConnectionCommand({ ConnectionId: id, Data: payload }));
}

/** `20261203T100326Z` → Date. */
function amzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) throw new Error(`bad x-amz-date ${value}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/**
 * Re-signs the request the server received, as API Gateway checks it: the headers it names in
 * SignedHeaders, its path, its body, at its own x-amz-date, with `secret`. True if the
 * signatures match.
 */
async function verifies(
  c: ApiGatewayManagementApiClient,
  req: Captured,
  secretAccessKey = credentials.secretAccessKey,
): Promise<boolean> {
  const authorization = String(req.headers.authorization);
  // The signer takes the payload hash from this header, so the body is checked against it here.
  const hash = new c.config.sha256();
  hash.update(req.body);
  if (Buffer.from(await hash.digest()).toString('hex') !== req.headers['x-amz-content-sha256']) return false;
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const headers = Object.fromEntries(signedHeaders.map((h) => [h, String(req.headers[h])]));
  const verifier = new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey },
    region,
    service: 'execute-api',
    sha256: c.config.sha256,
    uriEscapePath: true,
  });
  const resigned = await verifier.sign(
    new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: req.url,
      headers,
      body: req.body,
    }),
    { signingDate: amzDate(String(req.headers['x-amz-date'])) },
  );
  return resigned.headers.authorization === authorization;
}

const IDS = ['abc=', 'Zx_-9AbCdEfG=', "ab=c/d!'()*é", 'a b+c%2F'];
const PAYLOADS = ['{"type":"pong"}', '{"data":"é ✓ 𝄞","n":1}'];

describe('directPost sends the request the SDK sends', () => {
  it.each(IDS)('connection id %j: same method, path, body and content headers', async (id) => {
    const c = client();
    for (const payload of PAYLOADS) {
      await viaSdk(c, id, payload);
      await directPost(c)(id, payload);
    }
    expect(captured).toHaveLength(PAYLOADS.length * 2);
    for (let i = 0; i < captured.length; i += 2) {
      const [sdk, direct] = [captured[i]!, captured[i + 1]!];
      expect(direct.method).toBe('POST');
      expect(direct.url).toBe(sdk.url);
      expect(direct.url.startsWith('/dev/@connections/')).toBe(true);
      expect(direct.body.equals(sdk.body)).toBe(true);
      for (const h of ['host', 'content-type', 'content-length', 'x-amz-content-sha256']) {
        expect(direct.headers[h], h).toBe(sdk.headers[h]);
      }
    }
  });

  it.each(['', '/'])('endpoint path %j: the same path as the SDK', async (path) => {
    const c = client(path);
    await viaSdk(c, 'abc=', 'x');
    await directPost(c)('abc=', 'x');
    expect(captured[1]?.url).toBe(captured[0]?.url);
    expect(captured[1]?.url).toBe('/@connections/abc%3D');
  });

  it('an endpoint with a trailing slash after the stage: one slash (the SDK sends two)', async () => {
    const c = client('/prod/');
    await viaSdk(c, 'abc=', 'x');
    await directPost(c)('abc=', 'x');
    expect(captured[0]?.url).toBe('/prod//@connections/abc%3D');
    expect(captured[1]?.url).toBe('/prod/@connections/abc%3D');
  });
});

describe('directPost signs with SigV4 for execute-api', () => {
  it('an independent SigV4 verification accepts its signature, and the SDK’s', async () => {
    const c = client();
    for (const id of IDS) {
      await directPost(c)(id, PAYLOADS[1]!);
      await viaSdk(c, id, PAYLOADS[1]!);
    }
    for (const req of captured) {
      expect(String(req.headers.authorization)).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/\\d{8}/${region}/execute-api/aws4_request, `,
        ),
      );
      expect(await verifies(c, req)).toBe(true);
    }
  });

  it('the verification refuses a changed body, path or key (it can fail)', async () => {
    const c = client();
    await directPost(c)('abc=', '{"a":1}');
    const req = captured[0]!;
    expect(await verifies(c, { ...req, body: Buffer.from('{"a":2}') })).toBe(false);
    expect(await verifies(c, { ...req, url: req.url.replace('abc', 'abd') })).toBe(false);
    expect(await verifies(c, req, 'another-secret')).toBe(false);
  });

  it('applies the client’s clock skew correction to the signing date', async () => {
    const c = client();
    c.config.systemClockOffset = -3_600_000;
    await directPost(c)('abc=', 'x');
    const signedAt = amzDate(String(captured[0]?.headers['x-amz-date'])).getTime();
    expect(Math.abs(signedAt - (Date.now() - 3_600_000))).toBeLessThan(60_000);
    expect(await verifies(c, captured[0]!)).toBe(true);
  });

  it('with session credentials (as on Lambda): sends and signs x-amz-security-token, as the SDK does', async () => {
    const session = { ...credentials, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE/session+token==' };
    const c = createManagementClient(2, { endpoint: `http://127.0.0.1:${port}/dev`, region, credentials: session });
    await directPost(c)('abc=', 'x');
    await viaSdk(c, 'abc=', 'x');
    for (const req of captured) {
      expect(req.headers['x-amz-security-token']).toBe(session.sessionToken);
      expect(String(req.headers.authorization)).toContain('x-amz-security-token');
      expect(await verifies(c, req)).toBe(true);
    }
  });

  it('never sends the secret key', async () => {
    const c = client();
    await directPost(c)('abc=', 'x');
    expect(JSON.stringify(captured[0]?.headers)).not.toContain(credentials.secretAccessKey);
  });
});

/** What a post resolved to, or the shape of the SendError it threw. */
async function outcome(p: Promise<unknown>) {
  try {
    return { resolved: await p };
  } catch (err) {
    expect(err).toBeInstanceOf(SendError);
    const e = err as SendError;
    const cause = e.cause as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
    return {
      message: e.message,
      status: e.status,
      retryable: e.retryable,
      cause: { name: cause?.name, fault: cause?.$fault, httpStatusCode: cause?.$metadata?.httpStatusCode },
    };
  }
}

const json = { 'content-type': 'application/json' };

describe('ManagementApiSender on directPost: the same outcomes as on client.send', () => {
  it.each<[string, Reply]>([
    ['200', { status: 200 }],
    [
      '410 GoneException',
      { status: 410, headers: { ...json, 'x-amzn-errortype': 'GoneException' }, body: '{"message":"gone"}' },
    ],
    [
      '410 with the code in the body only',
      { status: 410, headers: json, body: '{"__type":"com.amazonaws#GoneException","message":"gone"}' },
    ],
    [
      '429 LimitExceededException',
      { status: 429, headers: { ...json, 'x-amzn-errortype': 'LimitExceededException:http://internal/' }, body: '{}' },
    ],
    [
      '403 ForbiddenException',
      { status: 403, headers: { ...json, 'x-amzn-errortype': 'ForbiddenException' }, body: '{"message":"no"}' },
    ],
    [
      '413 PayloadTooLargeException',
      { status: 413, headers: { ...json, 'x-amzn-errortype': 'PayloadTooLargeException' }, body: '{"message":"big"}' },
    ],
    ['500 with no error code', { status: 500, headers: json, body: '{"message":"internal"}' }],
  ])('%s', async (_label, reply) => {
    const c = client();
    replies = [reply, reply];
    const sdk = await outcome(new ManagementApiSender(c).post('abc=', 'x'));
    const direct = await outcome(createSender(c).post('abc=', 'x'));
    expect(direct).toEqual(sdk);
    expect(captured).toHaveLength(2);
  });

  it('502 with an HTML body: retryable, as through the SDK (which names it SyntaxError, its JSON parse)', async () => {
    const c = client();
    const reply = { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>bad gateway</html>' };
    replies = [reply, reply];
    const sdk = await outcome(new ManagementApiSender(c).post('abc=', 'x'));
    const direct = await outcome(createSender(c).post('abc=', 'x'));
    expect(sdk).toMatchObject({ status: 502, retryable: true, cause: { name: 'SyntaxError' } });
    expect(direct).toEqual({
      message: 'Unknown (HTTP 502)',
      status: 502,
      retryable: true,
      cause: { name: 'Unknown', fault: 'server', httpStatusCode: 502 },
    });
  });

  it('throws the modeled exception classes, with the HTTP status', async () => {
    const c = client();
    replies = [
      { status: 410, headers: { 'x-amzn-errortype': 'GoneException' }, body: '{"message":"gone"}' },
      { status: 429, headers: { 'x-amzn-errortype': 'LimitExceededException' }, body: '{}' },
      { status: 503, headers: { 'x-amzn-errortype': 'ServiceUnavailable' }, body: '{}' },
    ];
    const post = directPost(c);
    const errors = await Promise.all([1, 2, 3].map(() => post('abc=', 'x').catch((e: unknown) => e)));
    expect(errors[0]).toBeInstanceOf(GoneException);
    expect(errors[1]).toBeInstanceOf(LimitExceededException);
    expect(errors[2]).toBeInstanceOf(ApiGatewayManagementApiServiceException);
    expect(errors.map((e) => (e as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode)).toEqual([
      410, 429, 503,
    ]);
  });

  it('a refused connection: a retryable SendError without a status, as through the SDK', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const c = createManagementClient(2, { endpoint: `http://127.0.0.1:${deadPort}/dev`, region, credentials });
    const sdk = (await outcome(new ManagementApiSender(c).post('abc=', 'x'))) as {
      status?: number;
      retryable?: boolean;
    };
    const direct = (await outcome(createSender(c).post('abc=', 'x'))) as { status?: number; retryable?: boolean };
    expect(direct.status).toBeUndefined();
    expect(direct.retryable).toBe(true);
    expect(direct).toMatchObject({ status: sdk.status, retryable: sdk.retryable });
  });

  it('returns every socket to the keep-alive pool, error bodies included', async () => {
    const c = client('/dev', 3);
    replies = Array.from({ length: 60 }, (_, i) =>
      i % 5 === 0
        ? { status: 410, headers: { 'x-amzn-errortype': 'GoneException' }, body: '{"message":"gone"}' }
        : { status: 200 },
    );
    const sender = createSender(c);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => sender.post(`c${i}=`, 'x')));
    expect(results.filter((r) => r === 'gone')).toHaveLength(12);
    expect(results.filter((r) => r === 'sent')).toHaveLength(48);
    expect(sockets).toBeLessThanOrEqual(3);
  });
});
