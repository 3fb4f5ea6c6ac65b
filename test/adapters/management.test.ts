/**
 * The management-API clients: sockets bounded by the work a function has in flight; the cached
 * middleware stack and the reused signer still send every call's own request, correctly signed.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManagementClient, reuseSigner } from '../../lambdas/adapters/management.js';
import { Env } from '../../lambdas/contract/index.js';

let server: Server;
let open = 0;
let maxOpen = 0;
const saved = process.env[Env.managementEndpoint];
/** Every request the server received, in order of arrival. */
const received: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      void sleep(30).then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
  });
  server.on('connection', (socket) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    socket.on('close', () => open--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env[Env.managementEndpoint] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
});
afterAll(async () => {
  if (saved === undefined) delete process.env[Env.managementEndpoint];
  else process.env[Env.managementEndpoint] = saved;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('createManagementClient', () => {
  it('opens at most maxSockets connections however many calls are in flight', async () => {
    // Prepare
    maxOpen = 0;
    const client = createManagementClient(5);
    // Act: 40 calls at once
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client.send(new PostToConnectionCommand({ ConnectionId: `c${i}=`, Data: '{}' })),
      ),
    );
    // Assess
    expect(maxOpen).toBeLessThanOrEqual(5);
    expect(maxOpen).toBeGreaterThan(1); // and uses them
    client.destroy();
  });
});

describe('the tuned client (cached middleware, one signer)', () => {
  it("sends each call's own connection id and payload when calls overlap", async () => {
    // Prepare
    received.length = 0;
    const client = createManagementClient(10);
    const ids = Array.from({ length: 30 }, (_, i) => `conn-${i}=`);
    // Act: overlapping calls through the one cached handler
    await Promise.all(
      ids.map((id) => client.send(new PostToConnectionCommand({ ConnectionId: id, Data: `{"for":"${id}"}` }))),
    );
    // Assess
    const sent = received.map((r): [string, string] => [
      decodeURIComponent(r.url.replace('/@connections/', '')),
      r.body,
    ]);
    expect(new Map(sent)).toEqual(new Map(ids.map((id) => [id, `{"for":"${id}"}`])));
    expect(sent).toHaveLength(ids.length);
    client.destroy();
  });

  it('signs every request exactly as a freshly built SigV4 signer does', async () => {
    // Prepare
    received.length = 0;
    const client = createManagementClient(5);
    // Act
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.send(new PostToConnectionCommand({ ConnectionId: `s${i}=`, Data: `payload ${i}` })),
      ),
    );
    // Assess: recompute each signature over the headers it says it signed
    const fresh = new SignatureV4({
      credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! },
      region: process.env.AWS_REGION!,
      service: 'execute-api',
      sha256: Sha256,
      uriEscapePath: true,
    });
    expect(received).toHaveLength(8);
    for (const r of received) {
      const auth = String(r.headers.authorization);
      const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
      const headers = Object.fromEntries(signedHeaders.map((h) => [h, String(r.headers[h])]));
      const date = String(r.headers['x-amz-date']);
      const signingDate = new Date(
        `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
      );
      const { hostname, port } = new URL(process.env[Env.managementEndpoint]!);
      const expected = await fresh.sign(
        {
          method: r.method,
          protocol: 'http:',
          hostname,
          port: Number(port),
          path: r.url,
          headers,
          body: r.body,
          query: {},
        },
        { signingDate },
      );
      expect(auth).toBe(expected.headers.authorization);
    }
    client.destroy();
  });

  it('builds the signer once, not once per request', async () => {
    // Prepare: a client whose signer factory counts its calls
    const client = new ApiGatewayManagementApiClient({
      endpoint: process.env[Env.managementEndpoint]!,
      maxAttempts: 1,
    });
    const make = client.config.signer;
    let built = 0;
    client.config.signer = (scheme) => {
      built++;
      return make(scheme);
    };
    reuseSigner(client);
    // Act
    for (let i = 0; i < 5; i++)
      await client.send(new PostToConnectionCommand({ ConnectionId: `once${i}=`, Data: 'x' }));
    // Assess
    expect(built).toBe(1);
    client.destroy();
  });
});
