/**
 * Drives the real local runtime from outside, as a frontend and a domain service would: the
 * runtime (`bin/local.ts`) in a child process on free loopback ports, real `ws` clients, and the
 * real AWS SDK EventBridge client. Used by the e2e tests, `npm run bench` and `npm run load`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SignJWT } from 'jose';
import { Route, ServerMessageType } from '../../lambdas/contract/index.js';
import { LOCAL_CREDENTIALS, LOCAL_DEV_JWT_SECRET, LOCAL_REGION } from '../local/defaults.js';
import { Client, type ConnectOptions } from './ws-client.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Runtime {
  wsUrl: string;
  eventsUrl: string;
  /** The HTTP API (GET /health, /events, /presence, /status). */
  httpUrl: string;
  /** The debug console page (local only): `${httpUrl}/console`. */
  consoleUrl: string;
  managementUrl: string;
  dynamodbEndpoint: string;
  pid: number;
  /** Everything the runtime printed so far (stdout and stderr). */
  output(): string;
  events: EventBridgeClient;
  stop(): Promise<void>;
}

/** Starts `bin/local.ts` with WS_PORT=0 / EVENTS_PORT=0 / HTTP_PORT=0 and waits for its READY line. */
export async function startRuntime(
  env: Record<string, string> = {},
  options: {
    quiet?: boolean;
    exposeGc?: boolean;
    /** Node options for the runtime process (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
    nodeArgs?: string[];
    /** Another checkout to run `bin/local.ts` from (a side-by-side baseline); this one by default. */
    root?: string;
  } = {},
): Promise<Runtime> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.exposeGc ? ['--expose-gc'] : []), ...(options.nodeArgs ?? []), '--import', 'tsx', 'bin/local.ts'],
    {
      cwd: options.root ?? ROOT,
      env: { ...process.env, WS_PORT: '0', EVENTS_PORT: '0', HTTP_PORT: '0', POWERTOOLS_LOG_LEVEL: 'INFO', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const ready = new Promise<Record<string, string | undefined>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime not ready after 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      // Quiet runtimes (bench, load) keep only the start-up output, so memory stays flat.
      if (options.quiet && output.includes('READY ')) return;
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith('READY '));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('READY '.length)) as Record<string, string | undefined>);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code}:\n${output}`));
    });
  });
  const ready_ = await ready;
  const url = (name: string): string => {
    const value = ready_[name];
    if (!value) throw new Error(`runtime READY line has no ${name}:\n${output}`);
    return value;
  };
  const urls = {
    wsUrl: url('wsUrl'),
    eventsUrl: url('eventsUrl'),
    httpUrl: url('httpUrl'),
    consoleUrl: url('consoleUrl'),
    managementUrl: url('managementUrl'),
    dynamodbEndpoint: url('dynamodbEndpoint'),
  };
  const events = new EventBridgeClient({
    endpoint: urls.eventsUrl,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    ...urls,
    pid: child.pid!,
    output: () => output,
    events,
    async stop() {
      events.destroy();
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const exited = once(child, 'exit');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A DocumentClient on the runtime's own DynamoDB, to look at the tables as a test would. */
export function tableClient(rt: Runtime): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: rt.dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
  );
}

export interface DynamoProcess {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts dynalite in its own process on a free loopback port (see dynalite-process.ts). */
export async function startDynamoProcess(): Promise<DynamoProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/tools/dynalite-process.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`dynalite not ready after 20 s: ${out}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /DYNALITE (\S+)/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}: ${out}`)));
  });
  return {
    endpoint,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface TokenOptions {
  tenant?: unknown;
  user?: unknown;
  roles?: unknown;
  /** Seconds until exp (negative: already expired). */
  ttl?: number;
  secret?: string;
  claims?: Record<string, unknown>;
}

/** A dev HS256 token like `npm run token` makes. */
export async function token(opts: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    tenantId: opts.tenant ?? 't1',
    ...(opts.roles !== undefined ? { roles: opts.roles } : {}),
    ...opts.claims,
  };
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.ttl ?? 3600));
  if (opts.user !== null) jwt.setSubject(String(opts.user ?? 'u1'));
  return jwt.sign(new TextEncoder().encode(opts.secret ?? LOCAL_DEV_JWT_SECRET));
}

/** Connects and authenticates; fails the test if auth does not succeed. */
export async function authedClient(
  rt: Runtime,
  opts: TokenOptions = {},
  wsOptions: ConnectOptions = {},
): Promise<Client> {
  const client = await Client.connect(rt.wsUrl, wsOptions);
  const reply = await client.request({ action: Route.auth, token: await token(opts) }, [
    ServerMessageType.authSuccess,
    ServerMessageType.authError,
  ]);
  if (reply.type !== ServerMessageType.authSuccess) throw new Error(`auth failed: ${JSON.stringify(reply)}`);
  return client;
}

/** Puts events through the real EventBridge SDK client. */
export async function putEvents(rt: Runtime, entries: PutEventsRequestEntry[]) {
  return rt.events.send(new PutEventsCommand({ Entries: entries }));
}

export function entry(type: string, detail: unknown, source = 'test.e2e'): PutEventsRequestEntry {
  return {
    Source: source,
    DetailType: type,
    Detail: typeof detail === 'string' ? detail : JSON.stringify(detail),
    EventBusName: 'default',
  };
}

/**
 * Waits until the local EventBridge endpoint has delivered everything it accepted; with `gateway`,
 * also until the gateway has no handler invocation running or queued (e.g. the `$disconnect`s of a
 * closed fleet).
 */
export async function settled(rt: Runtime, { gateway = false }: { gateway?: boolean } = {}): Promise<void> {
  const res = await fetch(`${rt.eventsUrl}/_local/idle${gateway ? '?gateway=1&timeoutMs=120000' : ''}`);
  if (!res.ok) throw new Error(`idle endpoint answered ${res.status}`);
  await res.text();
}
