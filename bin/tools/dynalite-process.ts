/**
 * dynalite as its own process (as DynamoDB is its own service on AWS), for `npm run load` and
 * `npm run bench`: the runtime's thread is not shared with the database, and the runtime's heap
 * holds no table data. Prints `DYNALITE http://127.0.0.1:<port>` when listening on a free port.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const dynalite = createRequire(import.meta.url)('dynalite') as (options: Record<string, number>) => Server;
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  console.log(`DYNALITE http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
