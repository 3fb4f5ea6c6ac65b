/**
 * The server side of a browser test: one real local runtime (bin/local.ts in a child process),
 * events emitted through the real EventBridge client, connections looked up in the runtime's
 * own connections table and killed through the management API, as AWS would.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { localTableNames } from '../../../bin/local/defaults.js';
import {
  entry,
  putEvents,
  type Runtime,
  settled,
  startRuntime,
  type TokenOptions,
  tableClient,
  token,
} from '../../../bin/tools/harness.js';
import { ConnectionAttr, HTTP_ROUTES, type PresenceResponse, TENANT_INDEX } from '../../../lambdas/contract/index.js';

export interface Backend {
  rt: Runtime;
  stage: string;
  /** A tenant id of its own, so tests never see each other's events. */
  freshTenant(label?: string): string;
  /** A dev token, as `npm run token` makes. */
  token(opts?: TokenOptions): Promise<string>;
  /**
   * Emits one event (its detail gets `tenantId`; `data.priority` is its priority) from `source`
   * and waits until the runtime has delivered it. Returns the EventBridge event id (the
   * envelope's `eventId` is `evt_` + this).
   */
  emit(tenant: string, type: string, data?: Record<string, unknown>, source?: string): Promise<string>;
  /** `GET /presence` of the HTTP API, as a member of `tenant` would ask it. */
  presence(tenant: string): Promise<PresenceResponse>;
  /** Authenticated connections of a tenant (the sparse tenant index: pending ones are absent). */
  connections(tenant: string): Promise<Array<{ connectionId: string; userId: string }>>;
  /** Waits until `pred` holds for the tenant's connections; returns them. */
  waitForConnections(
    tenant: string,
    pred: (c: Array<{ connectionId: string; userId: string }>) => boolean,
    timeoutMs?: number,
  ): Promise<Array<{ connectionId: string; userId: string }>>;
  /** Server-side close: management API `DELETE /@connections/{id}`. */
  kill(connectionId: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startBackend(env: Record<string, string> = {}): Promise<Backend> {
  const stage = env.STAGE ?? `browser${randomUUID().slice(0, 6)}`;
  const rt = await startRuntime({ STAGE: stage, ...env });
  let db: DynamoDBDocumentClient | undefined;
  const tables = localTableNames(stage);
  let seq = 0;

  const connections: Backend['connections'] = async (tenant) => {
    db ??= tableClient(rt);
    const out = await db.send(
      new QueryCommand({
        TableName: tables.connections,
        IndexName: TENANT_INDEX,
        KeyConditionExpression: '#t = :t',
        ExpressionAttributeNames: { '#t': ConnectionAttr.tenantId },
        ExpressionAttributeValues: { ':t': tenant },
      }),
    );
    return (out.Items ?? []).map((item) => ({
      connectionId: String(item[ConnectionAttr.connectionId]),
      userId: String(item[ConnectionAttr.userId]),
    }));
  };

  return {
    rt,
    stage,
    freshTenant: (label = 'b') => `${label}-${++seq}-${randomUUID().slice(0, 8)}`,
    token: (opts) => token(opts),
    async emit(tenant, type, data = {}, source = 'test.browser') {
      const out = await putEvents(rt, [entry(type, { ...data, tenantId: tenant }, source)]);
      const id = out.Entries?.[0]?.EventId;
      if (out.FailedEntryCount !== 0 || !id) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
      await settled(rt);
      return id;
    },
    async presence(tenant) {
      const res = await fetch(`${rt.httpUrl}${HTTP_ROUTES.presence.path}`, {
        headers: { authorization: `Bearer ${await token({ tenant, user: 'presence-probe' })}` },
      });
      const body = (await res.json()) as PresenceResponse;
      if (res.status !== 200) throw new Error(`GET /presence answered ${res.status}: ${JSON.stringify(body)}`);
      return body;
    },
    connections,
    async waitForConnections(tenant, pred, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = await connections(tenant);
        if (pred(found)) return found;
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for connections of ${tenant}; have ${JSON.stringify(found)}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async kill(connectionId) {
      const res = await fetch(`${rt.managementUrl}/@connections/${encodeURIComponent(connectionId)}`, {
        method: 'DELETE',
      });
      await res.text();
      if (res.status !== 204) throw new Error(`DELETE @connections/${connectionId} answered ${res.status}`);
    },
    async stop() {
      db?.destroy();
      await rt.stop();
    },
  };
}
