/**
 * The transport seam. The client talks to one `SocketLike` per connection: the subset of the
 * WebSocket API that browsers, React Native and `ws` share. A transport is a function that
 * opens one; another transport (HTTP polling) can plug in here without touching the client.
 */

/** Handlers are assigned, never called, by the client: `never` accepts every runtime's event type. */
type Handler = ((event: never) => void) | null;

export interface SocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  onopen: Handler;
  onmessage: Handler;
  onclose: Handler;
  onerror: Handler;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` constructor: the global one, `ws` in Node 20, or a test double. */
export type WebSocketConstructor = new (url: string) => SocketLike;

/** `polling`: `GET /events` on the HTTP API (polling.ts), as a fallback or with `transport: 'polling'`. */
export type TransportName = 'websocket' | 'polling';

/** Opens one socket to `url`. */
export type Transport = (url: string) => SocketLike;

export function webSocketTransport(Ctor: WebSocketConstructor | undefined): Transport {
  const WS = Ctor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WS)
    throw new TypeError('No global WebSocket: pass one as the WebSocket option (in Node 20, the "ws" package\'s)');
  return (url) => new WS(url);
}
