/** The management-API clients' agents: sockets bounded by the work a function has in flight. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManagementClient } from '../../lambdas/adapters/management.js';
import { Env } from '../../lambdas/contract/index.js';

let server: Server;
let open = 0;
let maxOpen = 0;
const saved = process.env[Env.managementEndpoint];

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on(
      'end',
      () => void sleep(30).then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')),
    );
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
