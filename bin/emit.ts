/**
 * `npm run emit -- --type goal.created --tenant t1 --data '{"goalId":"g1"}' [--source app.local]
 *   [--priority high] [--bus NAME] [--endpoint URL] [--audience-users u1,u2] [--audience-roles admin]`
 *
 * Puts ONE event with the real EventBridge client, as a domain service would. Without
 * --endpoint it targets the local runtime (http://127.0.0.1:$EVENTS_PORT, default 3002) with
 * dummy credentials; with --bus and no --endpoint it uses AWS's endpoint and the default
 * credential chain. Prints the EventId; exits 1 if the entry (or the call) failed.
 */
import { parseArgs } from 'node:util';
import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  AUDIENCE_KEY,
  type Audience,
  ConnectionAttr,
  EventTypeSchema,
  PRIORITIES,
  PRIORITY_KEY,
  PrioritySchema,
  TenantIdSchema,
} from '../lambdas/contract/index.js';
import { isMain, runCli, silenceSdkNodeVersionWarning, splitList, UsageError } from './local/cli.js';
import { DEFAULT_EVENT_SOURCE, DEFAULT_EVENTS_PORT, LOCAL_CREDENTIALS, LOCAL_REGION } from './local/defaults.js';

const USAGE = `usage: npm run emit -- --type <event.type> --tenant <id> [options]

  --type <type>            detail-type, dot notation, e.g. goal.created (required)
  --tenant <id>            tenant id, added to the detail as "${ConnectionAttr.tenantId}" (required)
  --data <json>            detail fields, a JSON object (default {})
  --source <source>        event source (default ${DEFAULT_EVENT_SOURCE})
  --priority <priority>    detail.${PRIORITY_KEY}: ${PRIORITIES.join(', ')} (default: none, which is normal)
  --audience-users <a,b>   deliver only to these users (detail.${AUDIENCE_KEY}.userIds)…
  --audience-roles <a,b>   …or to connections holding one of these roles (detail.${AUDIENCE_KEY}.roles)
  --bus <name>             event bus name; without --endpoint this targets AWS (default credentials)
  --endpoint <url>         EventBridge endpoint (default http://127.0.0.1:$EVENTS_PORT, port ${DEFAULT_EVENTS_PORT})
  -h, --help               this help`;

export interface EmitOptions {
  entry: PutEventsRequestEntry;
  client: EventBridgeClientConfig;
}

function parseData(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`--data is not valid JSON (${(err as Error).message}): ${raw}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new UsageError(`--data must be a JSON object, got: ${raw}`);
  return data as Record<string, unknown>;
}

/** Command line (and environment) → the entry to put and the client configuration. */
export function emitOptionsFromArgs(args: string[], env: NodeJS.ProcessEnv = process.env): EmitOptions | 'help' {
  // biome-ignore lint/suspicious/noImplicitAnyLet: typed by the parseArgs call below (its options fix the type)
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        type: { type: 'string' },
        tenant: { type: 'string' },
        data: { type: 'string' },
        source: { type: 'string' },
        priority: { type: 'string' },
        bus: { type: 'string' },
        endpoint: { type: 'string' },
        'audience-users': { type: 'string' },
        'audience-roles': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values } = parsed;
  if (values.help) return 'help';
  if (values.type === undefined) throw new UsageError('--type is required');
  if (values.tenant === undefined) throw new UsageError('--tenant is required');
  const type = EventTypeSchema.safeParse(values.type);
  if (!type.success) throw new UsageError(`--type ${type.error.issues[0]?.message ?? 'is invalid'}`);
  const tenant = TenantIdSchema.safeParse(values.tenant);
  if (!tenant.success) throw new UsageError(`--tenant ${tenant.error.issues[0]?.message ?? 'is invalid'}`);

  const detail: Record<string, unknown> = { ...parseData(values.data), [ConnectionAttr.tenantId]: tenant.data };
  const audience: Audience = {};
  const userIds = splitList(values['audience-users']);
  const roles = splitList(values['audience-roles']);
  if (userIds) audience.userIds = userIds;
  if (roles) audience.roles = roles;
  if (userIds || roles) detail[AUDIENCE_KEY] = audience;
  if (values.priority !== undefined) {
    const priority = PrioritySchema.safeParse(values.priority);
    if (!priority.success) throw new UsageError(`--priority ${priority.error.issues[0]?.message ?? 'is invalid'}`);
    detail[PRIORITY_KEY] = priority.data;
  }

  const entry: PutEventsRequestEntry = {
    Source: values.source ?? DEFAULT_EVENT_SOURCE,
    DetailType: type.data,
    Detail: JSON.stringify(detail),
  };
  if (values.bus) entry.EventBusName = values.bus;

  let client: EventBridgeClientConfig;
  if (values.endpoint === undefined && values.bus !== undefined) {
    client = {}; // AWS: region and credentials from the default provider chain
  } else {
    const endpoint = values.endpoint ?? `http://127.0.0.1:${env.EVENTS_PORT?.trim() || DEFAULT_EVENTS_PORT}`;
    client = { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
  }
  return { entry, client };
}

/** Puts the entry; resolves the EventId, or rejects with the entry's error. */
export async function emit(options: EmitOptions): Promise<string> {
  const client = new EventBridgeClient(options.client);
  try {
    const out = await client.send(new PutEventsCommand({ Entries: [options.entry] }));
    const result = out.Entries?.[0];
    if (!result?.EventId)
      throw new Error(
        `event rejected: ${result?.ErrorCode ?? 'unknown error'}: ${result?.ErrorMessage ?? 'no message'}`,
      );
    return result.EventId;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ECONNREFUSED' && options.client.endpoint) {
      throw new Error(
        `cannot reach EventBridge at ${String(options.client.endpoint)}: is \`npm start\` running (or is EVENTS_PORT different)?`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    client.destroy();
  }
}

if (isMain(import.meta.url)) {
  silenceSdkNodeVersionWarning();
  runCli(async () => {
    const options = emitOptionsFromArgs(process.argv.slice(2));
    if (options === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    process.stdout.write(`${await emit(options)}\n`);
  }, USAGE);
}
