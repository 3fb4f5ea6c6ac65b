// @vitest-environment happy-dom
/** The React bindings (React 19, @testing-library/react, happy-dom) over a client on fake sockets. */
import { act, cleanup, render, renderHook, screen } from '@testing-library/react';
import { createElement, type ReactNode, StrictMode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions } from '../../client/src/index.js';
import { RealtimeProvider, useConnectionState, useRealtimeClient, useRealtimeEvent } from '../../client/src/react.js';
import { authSuccess, envelope, FakeSocket } from './fakes.js';

const options: RealtimeClientOptions = {
  url: 'ws://localhost:3001',
  getToken: async () => 'jwt',
  WebSocket: FakeSocket,
};

/** Opens the newest socket and authenticates it, inside act(). */
async function accept(): Promise<FakeSocket> {
  const ws = FakeSocket.last;
  await act(async () => ws.open());
  await act(async () => ws.receive(authSuccess()));
  return ws;
}

// Components live at module scope (a component made inside a function is a new type per call).
let probed: RealtimeClient | undefined;
function Probe() {
  probed = useRealtimeClient();
  return null;
}
function TokenApp({ token }: { token: string }) {
  return createElement(RealtimeProvider, { options: { ...options, getToken: () => token } });
}
function Feed({ type, label, calls }: { type: string; label: string; calls: string[] }) {
  useRealtimeEvent({ eventType: type, onEvent: (m) => calls.push(`${label}:${m.type}:${String(m.data.goalId)}`) });
  return null;
}
function Indicator() {
  const { state, reason } = useConnectionState();
  return createElement('span', { 'data-testid': 'state' }, `${state} (${reason})`);
}

beforeEach(() => {
  FakeSocket.all = [];
  probed = undefined;
});
afterEach(() => cleanup());

describe('RealtimeProvider', () => {
  it('with a client: provides it, and leaves its lifecycle to the app', () => {
    const client = createRealtimeClient(options);
    const wrapper = ({ children }: { children: ReactNode }) => createElement(RealtimeProvider, { client }, children);
    const { result, unmount } = renderHook(() => useRealtimeClient(), { wrapper });
    expect(result.current).toBe(client);
    unmount();
    expect(client.state).toBe('idle');
    expect(FakeSocket.all).toHaveLength(0);
  });

  it('with options: connects on mount and closes on unmount, also under StrictMode', async () => {
    const { unmount } = render(
      createElement(StrictMode, null, createElement(RealtimeProvider, { options }, createElement(Probe))),
    );
    await act(async () => {});
    // StrictMode's extra mount/unmount closed the first client; exactly one socket is left open.
    expect(FakeSocket.all.filter((s) => !s.isClosed)).toHaveLength(1);
    expect(probed?.state).toBe('connecting');
    await accept();
    expect(probed?.state).toBe('connected');
    unmount();
    expect(probed?.state).toBe('closed');
    expect(FakeSocket.all.every((s) => s.isClosed)).toBe(true);
  });

  it('with options: an inline getToken is read fresh at every auth', async () => {
    const { rerender } = render(createElement(TokenApp, { token: 'first' }));
    rerender(createElement(TokenApp, { token: 'second' }));
    await act(async () => FakeSocket.last.open());
    expect(FakeSocket.last.lastSent('auth').token).toBe('second');
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('with options: the filter options (sources, minPriority) reach the client and its restore frame', async () => {
    render(
      createElement(
        RealtimeProvider,
        { options: { ...options, eventTypes: ['goal.*'], sources: ['app.goals'], minPriority: 'high' } },
        createElement(Probe),
      ),
    );
    await act(async () => {});
    expect(probed?.filter).toEqual({ eventTypes: ['goal.*'], sources: ['app.goals'], minPriority: 'high' });
    const ws = await accept();
    expect(ws.lastSent('subscribe')).toEqual({
      action: 'subscribe',
      eventTypes: ['goal.*'],
      sources: ['app.goals'],
      minPriority: 'high',
    });
  });

  it('hooks outside a provider say so', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => renderHook(() => useRealtimeClient())).toThrow(/RealtimeProvider/);
    vi.restoreAllMocks();
  });
});

describe('useRealtimeEvent', () => {
  it('delivers matching events, tolerates a changing onEvent without resubscribing, unsubscribes on unmount', async () => {
    const client = createRealtimeClient({ ...options, onlineEvents: null });
    const onEvent = vi.spyOn(client, 'onEvent');
    const calls: string[] = [];
    const tree = (label: string) =>
      createElement(RealtimeProvider, { client }, createElement(Feed, { type: 'goal.created', label, calls }));
    const { rerender, unmount } = render(tree('a'));
    client.connect();
    const ws = await accept();
    act(() => ws.receive(envelope(1)));
    rerender(tree('b')); // a new onEvent closure
    act(() => ws.receive(envelope(2)));
    act(() => ws.receive(envelope(3, { type: 'action.created' })));
    expect(calls).toEqual(['a:goal.created:g1', 'b:goal.created:g2']);
    expect(onEvent).toHaveBeenCalledTimes(1);
    unmount();
    act(() => ws.receive(envelope(4)));
    expect(calls).toHaveLength(2);
    client.close();
  });

  it('resubscribes when the event type changes', async () => {
    const client = createRealtimeClient({ ...options, onlineEvents: null });
    const calls: string[] = [];
    const tree = (type: string) =>
      createElement(RealtimeProvider, { client }, createElement(Feed, { type, label: 'x', calls }));
    const { rerender } = render(tree('goal.created'));
    client.connect();
    const ws = await accept();
    act(() => ws.receive(envelope(1)));
    rerender(tree('goal.*'));
    act(() => ws.receive(envelope(2, { type: 'goal.completed' })));
    expect(calls).toEqual(['x:goal.created:g1', 'x:goal.completed:g2']);
    client.close();
  });
});

describe('useConnectionState', () => {
  it('re-renders with every state change and its reason', async () => {
    const client = createRealtimeClient({ ...options, onlineEvents: null });
    render(createElement(RealtimeProvider, { client }, createElement(Indicator)));
    // The root tsconfig has no DOM lib: read the text through a minimal shape.
    const text = () => (screen.getByTestId('state') as unknown as { textContent: string }).textContent;
    expect(text()).toBe('idle (connect)');
    act(() => client.connect());
    expect(text()).toBe('connecting (connect)');
    const ws = await accept();
    expect(text()).toBe('connected (authenticated)');
    act(() => ws.drop(1006));
    expect(text()).toBe('reconnecting (socket_closed)');
    act(() => client.close());
    expect(text()).toBe('closed (close)');
  });
});
