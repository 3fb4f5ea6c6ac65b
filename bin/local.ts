/**
 * `npm start`: the whole backend on this machine, no AWS account needed. Prints a banner for
 * people and one `READY {json}` line for scripts and tests; Ctrl-C (SIGINT) or SIGTERM closes
 * everything and exits 0.
 *
 * Environment: WS_PORT (3001), EVENTS_PORT (3002), HTTP_PORT (3003), HOST, STAGE, IDLE_TIMEOUT_SECONDS,
 * MAX_CONNECTION_SECONDS, SWEEP_INTERVAL_SECONDS, LOCAL_FAULTS=1, DYNAMODB_ENDPOINT,
 * LOCAL_HANDLERS_DIR, and the handler variables (JWT_SECRET, JWT_ISSUER, TENANT_CLAIM…).
 */
import { HTTP_ROUTE_NAMES, HTTP_ROUTES, Route } from '../lambdas/contract/index.js';
import { FAULTS_PATH } from './local/faults.js';
import { ListenError } from './local/http.js';
import {
  type LocalRuntime,
  type LocalRuntimeOptions,
  runtimeOptionsFromEnv,
  startLocalRuntime,
} from './local/runtime.js';

/** For people: `localhost` reads better than the loopback address we bind. */
const forDisplay = (url: string) => url.replace('//127.0.0.1:', '//localhost:');

function banner(rt: LocalRuntime, options: LocalRuntimeOptions): string {
  const lines = [
    '',
    `tenant-realtime local runtime (stage "${rt.stage}")`,
    '',
    `  WebSocket        ${forDisplay(rt.wsUrl)}`,
    `  Management API   ${forDisplay(rt.managementUrl)}/@connections/{connectionId}`,
    `  EventBridge      ${forDisplay(rt.eventsUrl)}   (PutEvents; GET /_local/dlq, /_local/invocations, /_local/idle)`,
    `  HTTP API         ${forDisplay(rt.httpUrl)}   (${HTTP_ROUTE_NAMES.map((name) => HTTP_ROUTES[name].routeKey).join(', ')})`,
    `  Debug console    ${forDisplay(rt.consoleUrl)}   (live events, dev tokens, emit: local only)`,
    `  DynamoDB         ${rt.dynamodbEndpoint}${options.dynamodbEndpoint ? '' : '   (dynalite, in memory)'}`,
    `  Tables           ${rt.tables.connections}, ${rt.tables.events}`,
  ];
  if (options.faults) lines.push(`  Fault injection  ${forDisplay(rt.managementUrl)}${FAULTS_PATH}   (LOCAL_FAULTS=1)`);
  lines.push(
    '',
    'Quick start:',
    '  1. npm run token -- --tenant t1 --user u1',
    `  2. connect to ${forDisplay(rt.wsUrl)} and send {"action":"${Route.auth}","token":"<token>"}`,
    `  3. npm run emit -- --type goal.created --tenant t1 --data '{"goalId":"g1"}'`,
    `  4. curl -H "Authorization: Bearer $(npm run -s token -- --tenant t1 --user u1)" ${forDisplay(rt.httpUrl)}${HTTP_ROUTES.events.path}`,
    `  Or open ${forDisplay(rt.consoleUrl)}: make a dev token there, watch events, emit some.`,
    '',
    'Ctrl-C to stop.',
    '',
  );
  return lines.join('\n');
}

function portVariable(err: ListenError, options: LocalRuntimeOptions): string | undefined {
  if (err.port === options.wsPort && err.port !== 0) return 'WS_PORT';
  if (err.port === options.eventsPort && err.port !== 0) return 'EVENTS_PORT';
  if (err.port === options.httpPort && err.port !== 0) return 'HTTP_PORT';
  return undefined;
}

async function main(): Promise<void> {
  let options: LocalRuntimeOptions;
  try {
    options = runtimeOptionsFromEnv();
  } catch (err) {
    process.stderr.write(`Cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }

  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime(options);
  } catch (err) {
    if (err instanceof ListenError) {
      const variable = portVariable(err, options);
      const hint = variable
        ? ` Stop the other process or choose another port, e.g. ${variable}=0 for any free port.`
        : '';
      process.stderr.write(`Cannot start: ${err.message}.${hint}\n`);
    } else {
      process.stderr.write(`Cannot start the local runtime: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  }

  process.stdout.write(banner(runtime, options));
  const ready = {
    wsUrl: runtime.wsUrl,
    eventsUrl: runtime.eventsUrl,
    httpUrl: runtime.httpUrl,
    consoleUrl: runtime.consoleUrl,
    managementUrl: runtime.managementUrl,
    dynamodbEndpoint: runtime.dynamodbEndpoint,
  };
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down…\n`);
    runtime.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error while shutting down: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
