/**
 * The README's quick start, command for command: `npm run token` makes the token a plain `ws`
 * client authenticates with, and `npm run emit` puts an event that client receives.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Runtime, startRuntime } from './harness.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('quick start CLIs against the local runtime', () => {
  let rt: Runtime;
  let client: Client | undefined;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    client?.close();
    await rt?.stop();
  });

  it('npm run token → auth, then npm run emit → the client receives the envelope', async () => {
    const { stdout: tokenOut } = await run(npm, [
      'run',
      '-s',
      'token',
      '--',
      '--tenant',
      'cli-t1',
      '--user',
      'cli-u1',
      '--roles',
      'admin,editor',
      '--ttl',
      '600',
    ]);
    const jwt = tokenOut.trim().split('\n').at(-1)!;
    expect(jwt.split('.')).toHaveLength(3);

    client = await Client.connect(rt.wsUrl);
    const auth = await client.request({ action: 'auth', token: jwt }, ['auth.success', 'auth.error']);
    expect(auth).toMatchObject({ type: 'auth.success', data: { tenantId: 'cli-t1', userId: 'cli-u1' } });

    const { stdout: emitOut } = await run(npm, [
      'run',
      '-s',
      'emit',
      '--',
      '--type',
      'goal.created',
      '--tenant',
      'cli-t1',
      '--data',
      '{"goalId":"g1","title":"From the CLI"}',
      '--endpoint',
      rt.eventsUrl,
    ]);
    const event = await client.waitFor((f) => f.type === 'goal.created', 10_000);
    expect(event).toMatchObject({
      tenantId: 'cli-t1',
      data: { goalId: 'g1', title: 'From the CLI', tenantId: 'cli-t1' },
    });
    // emit prints the EventBridge EventId; the envelope's eventId is derived from it.
    expect(emitOut).toContain(String(event.eventId).replace(/^evt_/, ''));
  });

  it('npm run emit fails with a clear message and exit code 1 on bad --data', async () => {
    const failed = await run(npm, [
      'run',
      '-s',
      'emit',
      '--',
      '--type',
      'goal.created',
      '--tenant',
      't1',
      '--data',
      '{nope',
      '--endpoint',
      rt.eventsUrl,
    ]).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/--data/);
  });
});
