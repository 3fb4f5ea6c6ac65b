/**
 * PostToConnection without the SDK client's middleware stack: the fan-out's one hot call.
 *
 * Why: a fan-out is one PostToConnection per recipient, and through `client.send` most of each
 * call's CPU is the SDK's per-command machinery (endpoint rules, schema serde, retry strategy,
 * user agent, logger), not the request (README, "Performance"). This sends the same request with
 * the client's own parts: its resolved endpoint, its SigV4 signer (same credentials, region,
 * service and path escaping, clock skew applied), its HTTP handler (same agent and timeouts),
 * and the SDK's REST-JSON error-code parser. It fails the way `client.send` fails: a 410 is the
 * modeled `GoneException`, a 429 `LimitExceededException`, and so on, each with
 * `$metadata.httpStatusCode`, so one error mapping serves both paths (`ManagementApiSender`).
 *
 * `test/adapters/direct-post.test.ts` holds it to the SDK's request (method, path, headers, body)
 * and to an independent SigV4 verification of its signature.
 */
import {
  type ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { extendedEncodeURIComponent, loadRestJsonErrorCode, parseJsonErrorBody } from '@smithy/core/protocols';
import { HttpRequest } from '@smithy/core/transport';
import { ConfigError } from '../core/errors.js';

/** Sends one PostToConnection; resolves on 2xx, rejects as `client.send` would otherwise. */
export type PostToConnection = (connectionId: string, payload: string) => Promise<void>;

/** The errors the API models for PostToConnection, by error code. */
const MODELED = {
  GoneException,
  ForbiddenException,
  LimitExceededException,
  PayloadTooLargeException,
} as const;

type Endpoint = { protocol: string; hostname: string; port?: number; path: string };
type Signer = { sign(request: HttpRequest, options: { signingDate: Date }): Promise<HttpRequest> };

/** Post through `client`'s endpoint, signer and HTTP handler. */
export function directPost(client: ApiGatewayManagementApiClient): PostToConnection {
  const config = client.config;
  let parts: Promise<{ endpoint: Endpoint; signer: Signer }> | undefined;
  const resolve = () => {
    parts ??= (async () => {
      const endpoint = (await config.endpoint?.()) as Endpoint | undefined;
      if (!endpoint) throw new ConfigError('the management API client has no endpoint');
      return { endpoint, signer: (await config.signer()) as unknown as Signer };
    })();
    // A failed resolution (credentials not there yet) is retried by the next call.
    parts.catch(() => {
      parts = undefined;
    });
    return parts;
  };

  return async (connectionId, payload) => {
    const { endpoint, signer } = await resolve();
    const body = Buffer.from(payload, 'utf8');
    const host = endpoint.port ? `${endpoint.hostname}:${endpoint.port}` : endpoint.hostname;
    const request = new HttpRequest({
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: endpoint.port } : {}),
      method: 'POST',
      path: `${endpoint.path.replace(/\/$/, '')}/@connections/${extendedEncodeURIComponent(connectionId)}`,
      headers: { host, 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
      body,
    });
    const signed = await signer.sign(request, { signingDate: new Date(Date.now() + (config.systemClockOffset ?? 0)) });
    const { response } = await config.requestHandler.handle(signed);
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      (response.body as NodeJS.ReadableStream | undefined)?.resume();
      return;
    }
    const parsed = (await parseJsonErrorBody(response.body, config).catch(() => ({}))) as { message?: string };
    const code = loadRestJsonErrorCode(response, parsed) ?? 'Unknown'; // the SDK's name for an uncoded error
    const $metadata = { httpStatusCode: status, requestId: response.headers['x-amzn-requestid'], attempts: 1 };
    const message = parsed.message ?? code;
    const Modeled = MODELED[code as keyof typeof MODELED];
    throw Modeled
      ? new Modeled({ message, $metadata })
      : new ApiGatewayManagementApiServiceException({
          name: code,
          $fault: status >= 500 ? 'server' : 'client',
          message,
          $metadata,
        });
  };
}
