/** Compile-time checks (tsc --noEmit) of the catalog typing of `onEvent`; trivial at run time. */
import { describe, expectTypeOf, it } from 'vitest';
import {
  createRealtimeClient,
  type Envelope,
  type EventFor,
  type Priority,
  type RealtimeClient,
  type RealtimeClientOptions,
  type SubscribeOptions,
  type SubscriptionFilter,
} from '../../client/src/index.js';
import type { GoalDetail } from '../../lambdas/contract/plain.js';
import { FakeSocket } from './fakes.js';

describe('onEvent types', () => {
  it('types a known event from the catalog, a pattern as its known types, anything else by the base detail', () => {
    expectTypeOf<EventFor<'goal.created'>>().toEqualTypeOf<Envelope<'goal.created', GoalDetail>>();
    expectTypeOf<EventFor<'goal.*'>['type']>().toEqualTypeOf<
      'goal.created' | 'goal.updated' | 'goal.activated' | 'goal.completed'
    >();
    expectTypeOf<EventFor<'billing.invoice.paid'>['data']['tenantId']>().toEqualTypeOf<string>();
    expectTypeOf<EventFor<'billing.*'>['type']>().toEqualTypeOf<string>();

    const client = createRealtimeClient({ url: 'ws://x.test', getToken: () => 't', WebSocket: FakeSocket });
    client.onEvent('goal.created', (e) => expectTypeOf(e.data.goalId).toEqualTypeOf<string>());
    client.onEvent('action.*', (e) => expectTypeOf(e.data.actionId).toEqualTypeOf<string>());
    client.on('state', (state, info) => {
      expectTypeOf(state).toEqualTypeOf(info.state);
    });
    client.close();
  });
});

describe('sources and priorities in the types', () => {
  it('envelopes carry their source and priority; the options, subscribe() and `filter` take and show them', () => {
    expectTypeOf<Envelope['source']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Envelope['priority']>().toEqualTypeOf<Priority | undefined>();
    expectTypeOf<EventFor<'goal.created'>['priority']>().toEqualTypeOf<Priority | undefined>();
    expectTypeOf<Priority>().toEqualTypeOf<'low' | 'normal' | 'high' | 'critical'>();
    expectTypeOf<RealtimeClient['filter']>().toEqualTypeOf<SubscriptionFilter>();
    expectTypeOf<RealtimeClientOptions['minPriority']>().toEqualTypeOf<Priority | undefined>();
    expectTypeOf<SubscribeOptions['sources']>().toEqualTypeOf<readonly string[] | undefined>();

    const client = createRealtimeClient({
      url: 'ws://x.test',
      getToken: () => 't',
      WebSocket: FakeSocket,
      sources: ['app.billing'],
      minPriority: 'high',
    });
    client.onEvent('goal.created', (e) => expectTypeOf(e.source).toEqualTypeOf<string | undefined>());
    expectTypeOf(client.subscribe).parameter(1).toEqualTypeOf<SubscribeOptions | undefined>();
    // @ts-expect-error not a priority
    void client.subscribe([], { minPriority: 'urgent' }).catch(() => {});
    client.close();
  });
});
