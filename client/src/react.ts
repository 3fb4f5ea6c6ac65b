/**
 * `@tenant-realtime/client/react`: a provider for one shared client, and hooks for events and
 * the connection state. React is an optional peer dependency of this entry only.
 */
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useInsertionEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import {
  createRealtimeClient,
  type EventFor,
  type EventPattern,
  type RealtimeClient,
  type RealtimeClientOptions,
  type StateInfo,
} from './index.js';

const RealtimeContext = createContext<RealtimeClient | null>(null);

export type RealtimeProviderProps = { children?: ReactNode } & (
  | {
      /** A client the app owns: the provider neither connects nor closes it. */
      client: RealtimeClient;
      options?: never;
    }
  | {
      /** The provider creates the client, connects it on mount and closes it on unmount. */
      options: RealtimeClientOptions;
      client?: never;
    }
);

type Latest = { current: RealtimeClientOptions | undefined };

/** `getToken` always calls the latest `options.getToken`, so an inline function needs no memo. */
function own(options: RealtimeClientOptions, latest: Latest): RealtimeClient {
  return createRealtimeClient({ ...options, getToken: () => (latest.current ?? options).getToken() });
}

/** Shares one client with the tree below. With `options`, changes after mount other than `getToken` are ignored: key the provider to start over. */
export function RealtimeProvider({ client, options, children }: RealtimeProviderProps): ReactNode {
  const latest = useRef(options);
  useInsertionEffect(() => {
    latest.current = options;
  });
  const [owned, setOwned] = useState(() => (client || !options ? null : own(options, latest)));
  useEffect(() => {
    if (client || !owned) return;
    // StrictMode runs effects twice: the first cleanup closed this client for good, so make a new one.
    if (owned.state === 'closed') return setOwned(own(latest.current as RealtimeClientOptions, latest));
    owned.connect();
    return () => owned.close();
  }, [client, owned]);
  return createElement(RealtimeContext.Provider, { value: client ?? owned }, children);
}

/** The provider's client. */
export function useRealtimeClient(): RealtimeClient {
  const client = useContext(RealtimeContext);
  if (!client) throw new Error('useRealtimeClient: no <RealtimeProvider> above this component');
  return client;
}

export interface UseRealtimeEventOptions<P extends EventPattern> {
  /** An event type (`goal.created`) or pattern (`goal.*`). */
  eventType: P;
  /** Called for each matching event, once, in order. May change on every render. */
  onEvent: (envelope: EventFor<P>) => void;
}

/** Calls `onEvent` for every matching event while mounted; a new `onEvent` never resubscribes. */
export function useRealtimeEvent<P extends EventPattern>({ eventType, onEvent }: UseRealtimeEventOptions<P>): void {
  const client = useRealtimeClient();
  const handler = useRef(onEvent);
  useInsertionEffect(() => {
    handler.current = onEvent;
  });
  useEffect(() => client.onEvent(eventType, (e) => handler.current(e)), [client, eventType]);
}

/** The connection state and why it is what it is (`{ state, reason, … }`); re-renders on every change. */
export function useConnectionState(): StateInfo {
  const client = useRealtimeClient();
  const subscribe = useCallback((onChange: () => void) => client.on('state', onChange), [client]);
  const snapshot = () => client.stateInfo;
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}
