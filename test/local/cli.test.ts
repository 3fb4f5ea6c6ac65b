/** `npm start` (bin/local.ts), `npm run token` and `npm run emit`. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { emit, emitOptionsFromArgs } from '../../bin/emit.js';
import { UsageError } from '../../bin/local/cli.js';
import { LOCAL_DEV_JWT_SECRET } from '../../bin/local/defaults.js';
import { type LocalEventBridgeEvent, startEventBridge } from '../../bin/local/eventbridge.js';
import { createDevToken, tokenOptionsFromArgs } from '../../bin/token.js';
import { Client } from '../../bin/tools/ws-client.js';
import { broadcastEventPattern, Env } from '../../lambdas/contract/index.js';
import { memoryLog, waitFor } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('npm run token', () => {
  it('signs an HS256 token the local secret verifies', async () => {
    const saved = { ...process.env };
    cleanups.push(() => {
      process.env = saved;
    });
    delete process.env[Env.jwtSecret];
    delete process.env[Env.tenantClaim];
    process.env[Env.jwtIssuer] = 'https://issuer.local';
    const options = tokenOptionsFromArgs(['--tenant', 't1', '--user', 'u1', '--roles', 'admin, editor', '--ttl', '60']);
    if (options === 'help') throw new Error('unexpected help');
    const token = await createDevToken(options);
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(LOCAL_DEV_JWT_SECRET), {
      issuer: 'https://issuer.local',
    });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ tenantId: 't1', sub: 'u1', roles: ['admin', 'editor'] });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(60);
    expect(payload.aud).toBeUndefined();
  });

  it('takes the claim name, secret and audience from flags', async () => {
    const options = tokenOptionsFromArgs([
      '--tenant',
      't1',
      '--user',
      'u1',
      '--claim',
      'org',
      '--secret',
      's'.repeat(32),
      '--audience',
      'app',
    ]);
    if (options === 'help') throw new Error('unexpected help');
    const { payload } = await jwtVerify(await createDevToken(options), new TextEncoder().encode('s'.repeat(32)), {
      audience: 'app',
    });
    expect(payload.org).toBe('t1');
    expect(payload.tenantId).toBeUndefined();
  });

  it('reports bad arguments as usage errors', () => {
    expect(() => tokenOptionsFromArgs(['--user', 'u1'])).toThrow(UsageError);
    expect(() => tokenOptionsFromArgs(['--tenant', 't1', '--user', 'u1', '--ttl', 'soon'])).toThrow(/--ttl/);
    expect(() => tokenOptionsFromArgs(['--tenant', 'a#b', '--user', 'u1'])).toThrow(/--tenant/);
    expect(() => tokenOptionsFromArgs(['--tenant', 't1', '--user', 'u1', '--what'])).toThrow(UsageError);
    expect(tokenOptionsFromArgs(['--help'])).toBe('help');
  });
});

describe('npm run emit', () => {
  it('builds the detail from --data, --tenant and the audience flags', () => {
    const options = emitOptionsFromArgs(
      [
        '--type',
        'goal.created',
        '--tenant',
        't1',
        '--data',
        '{"goalId":"g1","tenantId":"ignored"}',
        '--audience-users',
        'u1,u2',
        '--audience-roles',
        'admin',
      ],
      { EVENTS_PORT: '4555' },
    );
    if (options === 'help') throw new Error('unexpected help');
    expect(JSON.parse(options.entry.Detail ?? '')).toEqual({
      goalId: 'g1',
      tenantId: 't1',
      audience: { userIds: ['u1', 'u2'], roles: ['admin'] },
    });
    expect(options.entry).toMatchObject({ Source: 'app.local', DetailType: 'goal.created' });
    expect(options.entry.EventBusName).toBeUndefined();
    expect(options.client.endpoint).toBe('http://127.0.0.1:4555');
  });

  it('uses the AWS default endpoint and credentials only for --bus without --endpoint', () => {
    const aws = emitOptionsFromArgs(['--type', 'goal.created', '--tenant', 't1', '--bus', 'prod-bus'], {});
    if (aws === 'help') throw new Error('unexpected help');
    expect(aws.client).toEqual({});
    expect(aws.entry.EventBusName).toBe('prod-bus');
    const local = emitOptionsFromArgs(
      ['--type', 'goal.created', '--tenant', 't1', '--bus', 'b', '--endpoint', 'http://127.0.0.1:1'],
      {},
    );
    if (local === 'help') throw new Error('unexpected help');
    expect(local.client.endpoint).toBe('http://127.0.0.1:1');
  });

  it('sets detail.priority from --priority, and refuses a priority the broadcaster would reject', () => {
    const options = emitOptionsFromArgs(
      ['--type', 'goal.created', '--tenant', 't1', '--source', 'billing', '--priority', 'critical'],
      {},
    );
    if (options === 'help') throw new Error('unexpected help');
    expect(JSON.parse(options.entry.Detail ?? '')).toEqual({ tenantId: 't1', priority: 'critical' });
    expect(options.entry.Source).toBe('billing');
    const none = emitOptionsFromArgs(['--type', 'goal.created', '--tenant', 't1'], {});
    if (none === 'help') throw new Error('unexpected help');
    expect(JSON.parse(none.entry.Detail ?? '')).not.toHaveProperty('priority');
    for (const bad of ['urgent', 'HIGH', ''])
      expect(() => emitOptionsFromArgs(['--type', 'goal.created', '--tenant', 't1', '--priority', bad], {})).toThrow(
        /--priority must be one of "low", "normal", "high", "critical"/,
      );
  });

  it('rejects invalid --data and types clearly', () => {
    expect(() => emitOptionsFromArgs(['--type', 'goal.created', '--tenant', 't1', '--data', '{oops'], {})).toThrow(
      /--data is not valid JSON/,
    );
    expect(() => emitOptionsFromArgs(['--type', 'goal.created', '--tenant', 't1', '--data', '[1]'], {})).toThrow(
      /JSON object/,
    );
    expect(() => emitOptionsFromArgs(['--type', 'nodots', '--tenant', 't1'], {})).toThrow(/--type/);
    expect(() => emitOptionsFromArgs(['--tenant', 't1'], {})).toThrow(/--type is required/);
  });

  it('puts the event with the real client and returns its EventId, or the entry error', async () => {
    const delivered: LocalEventBridgeEvent[] = [];
    const bus = await startEventBridge({
      host: '127.0.0.1',
      port: 0,
      pattern: broadcastEventPattern(),
      target: async (e) => delivered.push(e),
      log: memoryLog(),
    });
    cleanups.push(() => bus.close());
    const options = emitOptionsFromArgs(
      ['--type', 'goal.created', '--tenant', 't1', '--data', '{"goalId":"g1"}', '--endpoint', bus.url],
      {},
    );
    if (options === 'help') throw new Error('unexpected help');
    const eventId = await emit(options);
    await bus.idle();
    expect(delivered[0]).toMatchObject({ id: eventId, detail: { goalId: 'g1', tenantId: 't1' } });
    await expect(emit({ ...options, entry: { ...options.entry, Detail: '[]' } })).rejects.toThrow(/MalformedDetail/);
  });

  it('explains an unreachable endpoint', async () => {
    const options = emitOptionsFromArgs(
      ['--type', 'goal.created', '--tenant', 't1', '--endpoint', 'http://127.0.0.1:9'],
      {},
    );
    if (options === 'help') throw new Error('unexpected help');
    await expect(emit(options)).rejects.toThrow(/npm start/);
  });
});

describe('npm start (bin/local.ts)', () => {
  interface Started {
    child: ChildProcess;
    stdout: string[];
    stderr: string[];
    exit: Promise<number | null>;
  }

  function start(env: Record<string, string>): Started {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        LOCAL_HANDLERS_DIR: 'test/local/fixtures/handlers',
        SWEEP_INTERVAL_SECONDS: '0',
        HTTP_PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: string[] = [];
    const stderr: string[] = [];
    child.stdout?.on('data', (d: Buffer) => stdout.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return { child, stdout, stderr, exit };
  }

  it('prints the banner and a READY line, serves, and exits 0 on SIGTERM', async () => {
    const run = start({ WS_PORT: '0', EVENTS_PORT: '0' });
    const line = await waitFor(
      () =>
        run.stdout
          .join('')
          .split('\n')
          .find((l) => l.startsWith('READY ')),
      20_000,
    );
    const ready = JSON.parse(line.slice('READY '.length)) as Record<string, string>;
    expect(Object.keys(ready).sort()).toEqual([
      'consoleUrl',
      'dynamodbEndpoint',
      'eventsUrl',
      'httpUrl',
      'managementUrl',
      'wsUrl',
    ]);
    // The debug console: printed, and served as one page on the HTTP API's port.
    expect(ready.consoleUrl).toBe(`${ready.httpUrl}/console`);
    expect(run.stdout.join('')).toMatch(/Debug console {4}http:\/\/localhost:\d+\/console/);
    const page = await fetch(ready.consoleUrl ?? '');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>tenant-realtime console</title>');
    const health = await fetch(`${ready.httpUrl}/health`);
    expect(((await health.json()) as { routeKey: string }).routeKey).toBe('GET /health');
    expect(run.stdout.join('')).toContain('npm run token -- --tenant t1 --user u1');
    const client = await Client.connect(ready.wsUrl ?? '');
    client.ws.send('{"action":"subscribe"}');
    expect(JSON.parse(await client.nth(1))).toMatchObject({ route: 'subscribe' });
    await client.closeAndWait();
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('exits 1 with one clear line when the port is in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as AddressInfo).port;
    const run = start({ WS_PORT: String(port), EVENTS_PORT: '0' });
    expect(await run.exit).toBe(1);
    const stderr = run.stderr.join('');
    expect(stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(stderr).toContain('WS_PORT');
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
