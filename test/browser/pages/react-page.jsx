/**
 * The React bindings in a real browser (React 19): bundled at test time by esbuild from the
 * SDK's build output (`@tenant-realtime/client` and `/react` resolve to client/dist through the
 * workspace link and the package's `exports`), React and react-dom.
 *
 * It renders `<RealtimeProvider client>` with:
 * - a connection indicator (`useConnectionState()`) in `#state`;
 * - a goal feed (`useRealtimeEvent({ eventType: 'goal.created', onEvent })`) in `#goals`, with
 *   a new inline `onEvent` on every render, as apps write it;
 * - an `action.*` feed in `#actions` (a pattern);
 * - `#same-client`: whether `useRealtimeClient()` is the client given to the provider;
 * - a button `#toggle-goals` that unmounts and remounts the goal feed.
 * Handler calls are also recorded in `__rt.extra.goals` / `__rt.extra.actions`.
 *
 * With `?provider=options`, the provider gets `options` instead and owns its client (connects
 * it on mount, closes it on unmount); `#unmount` unmounts the whole tree.
 *
 * `?strict=1` renders it in `<StrictMode>` (effects run twice in development, as in most apps'
 * dev builds).
 *
 * Query: `url` (required), `provider=client|options`, `strict=1`.
 */
import { createRealtimeClient } from '@tenant-realtime/client';
import {
  RealtimeProvider,
  useConnectionState,
  useRealtimeClient,
  useRealtimeEvent,
} from '@tenant-realtime/client/react';
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createRecorder, getTokenFor, params, plain, record } from './recorder.js';

const log = createRecorder();
log.extra.goals = [];
log.extra.actions = [];
log.extra.stateValues = [];
const { autoconnect, ...options } = params();
const query = new URLSearchParams(location.search);
const ownedByProvider = query.get('provider') === 'options';
const strict = query.get('strict') === '1';
const clientOptions = { ...options, getToken: getTokenFor(log) };
/** The app's own client (provider=client), or undefined when the provider creates one. */
const client = ownedByProvider ? undefined : createRealtimeClient(clientOptions);
if (client) record(client, log);

/** provider=options: records the provider's client once it exists. */
function RecordProviderClient() {
  const provided = useRealtimeClient();
  useEffect(() => {
    if (globalThis.__rtClient === provided) return;
    record(provided, log);
    log.extra.providerClients = [...(log.extra.providerClients ?? []), provided.state];
  }, [provided]);
  return null;
}

/** `useConnectionState()` may return the state name or an object carrying it. */
function stateName(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof value.state === 'string') return value.state;
  return `unknown:${JSON.stringify(plain(value))}`;
}

function Indicator() {
  const value = useConnectionState();
  const name = stateName(value);
  if (log.extra.stateValues.at(-1) !== name) log.extra.stateValues.push(name);
  return (
    <p>
      Connection: <span id="state">{name}</span>
    </p>
  );
}

function GoalFeed() {
  const [goals, setGoals] = useState([]);
  useRealtimeEvent({
    eventType: 'goal.created',
    onEvent: (event) => {
      log.extra.goals.push(event.eventId);
      setGoals((list) => [...list, event]);
    },
  });
  return (
    <ul id="goals">
      {goals.map((event) => (
        <li key={event.eventId} data-event-id={event.eventId}>
          {event.type} {event.data.goalId}
        </li>
      ))}
    </ul>
  );
}

function ActionFeed() {
  const [count, setCount] = useState(0);
  useRealtimeEvent({
    eventType: 'action.*',
    onEvent: (event) => {
      log.extra.actions.push(event.eventId);
      setCount((n) => n + 1);
    },
  });
  return (
    <p>
      Actions: <span id="actions">{count}</span>
    </p>
  );
}

function SameClient() {
  const provided = useRealtimeClient();
  // provider=options: the provider's own client, whatever it is, as long as there is one.
  return <span id="same-client">{String(client ? provided === client : typeof provided?.on === 'function')}</span>;
}

function App() {
  const [showGoals, setShowGoals] = useState(true);
  const providerProps = client ? { client } : { options: clientOptions };
  return (
    <RealtimeProvider {...providerProps}>
      {client ? null : <RecordProviderClient />}
      <Indicator />
      <SameClient />
      <button id="toggle-goals" type="button" onClick={() => setShowGoals((s) => !s)}>
        {showGoals ? 'hide goals' : 'show goals'}
      </button>
      {showGoals ? <GoalFeed /> : null}
      <ActionFeed />
    </RealtimeProvider>
  );
}

const rootElement = document.getElementById('root');
if (!rootElement) throw new Error('no #root');
const root = createRoot(rootElement);
root.render(
  strict ? (
    <StrictMode>
      <App />
    </StrictMode>
  ) : (
    <App />
  ),
);
if (client && autoconnect) client.connect();

const unmount = document.createElement('button');
unmount.id = 'unmount';
unmount.type = 'button';
unmount.textContent = 'unmount the app';
unmount.addEventListener('click', () => root.unmount());
document.body.append(unmount);
log.ready = true;
