import { describe, expect, it } from 'vitest';
import {
  EnvelopeSchema,
  type EnvelopeSchemaMatches,
  eventLogSortKey,
  MAX_MESSAGE_BYTES,
  PRIORITIES,
} from '../../lambdas/contract/index.js';
import {
  type BroadcastDeps,
  broadcast,
  eventIdOf,
  type Prepared,
  prepareEnvelope,
} from '../../lambdas/core/broadcast.js';
import type { EventLog } from '../../lambdas/core/ports.js';
import {
  FakeClock,
  InMemoryConnectionStore,
  InMemoryEventLog,
  recordingSleep,
  ScriptedSender,
  seedAuthenticated,
} from './fakes.js';
import { type EventBridgeFixture, eventBridgeFixture } from './fixtures.js';

function rejection(prepared: Prepared): { reason: string; message: string } {
  if (prepared.ok) throw new Error(`expected a rejection, got ${prepared.payload}`);
  return { reason: prepared.reason, message: prepared.message };
}

const withDetail = (detail: unknown, base = eventBridgeFixture('goal-created')) => ({ ...base, detail });
/** The clock `prepareEnvelope` reads only for an event whose time is not a date. */
const now = new FakeClock().now;

describe('prepareEnvelope', () => {
  it('builds the envelope of a valid EventBridge event', () => {
    // Prepare
    const event = eventBridgeFixture('goal-created');
    // Act
    const prepared = prepareEnvelope(event, now);
    // Assess
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    expect(prepared.envelope).toEqual({
      type: 'goal.created',
      data: event.detail,
      timestamp: '2025-01-15T11:59:58.000Z',
      eventId: 'evt_6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      tenantId: 'acme',
      source: 'com.example.goals',
      priority: 'normal',
    });
    expect(EnvelopeSchema.parse(prepared.envelope)).toEqual(prepared.envelope);
    expect(JSON.parse(prepared.payload)).toEqual(prepared.envelope);
    expect(prepared.audience).toBeUndefined();
    expect('audience' in prepared).toBe(false);
  });

  it('removes the audience from the data and returns it separately', () => {
    const event = eventBridgeFixture('goal-created-with-audience');
    const prepared = prepareEnvelope(event, now);
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    expect(prepared.audience).toEqual({ userIds: ['user-7'], roles: ['admin'] });
    expect(prepared.envelope.data).toEqual({ tenantId: 'acme', goalId: 'goal-43', title: 'Private goal' });
    expect(prepared.payload).not.toContain('audience');
    expect(prepared.payload).not.toContain('user-7');
  });

  it('accepts an unknown dot-notation type with any detail fields', () => {
    const prepared = prepareEnvelope(eventBridgeFixture('billing-invoice-paid'), now);
    expect(prepared).toMatchObject({
      ok: true,
      envelope: {
        type: 'billing.invoice.paid',
        timestamp: '2025-01-15T12:00:02.123Z',
        eventId: 'evt_f3b1c9d2-2222-4e4e-9999-1234567890ab',
        tenantId: 'acme',
        data: { invoiceId: 'inv-1001' },
      },
    });
  });

  it('gives every delivery of one EventBridge event the same eventId', () => {
    const a = prepareEnvelope(eventBridgeFixture('goal-created'), now);
    const b = prepareEnvelope(eventBridgeFixture('goal-created'), now);
    expect(a.ok && b.ok && a.envelope.eventId === b.envelope.eventId).toBe(true);
    expect(eventIdOf('abc')).toBe('evt_abc');
  });

  it('uses the current time when the event time is not a date', () => {
    const prepared = prepareEnvelope({ ...eventBridgeFixture('goal-created'), time: 'yesterday' }, now);
    expect(prepared.ok).toBe(true);
    if (prepared.ok) expect(Number.isNaN(Date.parse(prepared.envelope.timestamp))).toBe(false);
    // The current time is the injected clock's.
    if (prepared.ok) expect(prepared.envelope.timestamp).toBe(new Date(now()).toISOString());
  });

  it.each([
    'GoalCreated',
    'goal.',
    '.x',
    'goal',
    'goal..created',
    'goal created',
    '1goal.created',
    `goal.${'x'.repeat(130)}`,
  ])('rejects the detail-type %j as invalid_detail_type', (detailType) => {
    const { reason, message } = rejection(
      prepareEnvelope({ ...eventBridgeFixture('goal-created'), 'detail-type': detailType }, now),
    );
    expect(reason).toBe('invalid_detail_type');
    expect(message).toMatch(/^detail-type: /);
  });

  it.each([
    ['missing', { goalId: 'g' }, 'detail.tenantId is missing'],
    ['a number', { tenantId: 42, goalId: 'g' }, 'detail.tenantId: '],
    ['empty', { tenantId: '', goalId: 'g' }, 'detail.tenantId: '],
    ['containing #', { tenantId: 'acme#admin', goalId: 'g' }, 'detail.tenantId: '],
    ['containing a control character', { tenantId: 'acme\u0001', goalId: 'g' }, 'detail.tenantId: '],
  ])('rejects a tenantId %s as invalid_tenant', (_label, detail, message) => {
    const result = rejection(prepareEnvelope(withDetail(detail), now));
    expect(result.reason).toBe('invalid_tenant');
    expect(result.message.startsWith(message)).toBe(true);
  });

  it.each([
    ['an array', [{ tenantId: 'acme' }]],
    ['a string', '{"tenantId":"acme"}'],
    ['null', null],
    ['a number', 7],
    ['missing', undefined],
  ])('rejects a detail that is %s as invalid_detail', (_label, detail) => {
    expect(rejection(prepareEnvelope(withDetail(detail), now))).toEqual({
      reason: 'invalid_detail',
      message: 'detail must be a JSON object',
    });
  });

  it.each([
    ['userIds not an array', { userIds: 'user-7' }],
    ['a role that is a number', { roles: [1] }],
    ['an empty user id', { userIds: [''] }],
    ['an unknown key', { groups: ['a'] }],
    ['not an object', 'everyone'],
    ['null', null],
    ['no one listed', {}],
    ['empty lists', { userIds: [], roles: [] }],
  ])('rejects an audience with %s as invalid_audience', (_label, audience) => {
    const { reason, message } = rejection(
      prepareEnvelope(withDetail({ tenantId: 'acme', goalId: 'g', audience }), now),
    );
    expect(reason).toBe('invalid_audience');
    expect(message).toMatch(/^detail\.audience: /);
  });

  it.each([
    ['an unknown word', 'urgent'],
    ['empty', ''],
    ['a number', 3],
    ['null', null],
    ['upper case', 'HIGH'],
    ['capitalized', 'Critical'],
    ['padded', ' high'],
    ['a list', ['high']],
    ['an object', { level: 'high' }],
    ['a boolean', true],
  ])('rejects a priority that is %s as invalid_priority, naming the field and the values', (_label, priority) => {
    const { reason, message } = rejection(
      prepareEnvelope(withDetail({ tenantId: 'acme', goalId: 'g', priority }), now),
    );
    expect(reason).toBe('invalid_priority');
    expect(message).toMatch(/^detail\.priority: /);
    for (const p of PRIORITIES) expect(message).toContain(`"${p}"`);
  });

  it('checks the priority before the detail schema (a bad priority on a bad detail is invalid_priority)', () => {
    const { reason } = rejection(prepareEnvelope(withDetail({ tenantId: 'acme', priority: 'urgent' }), now));
    expect(reason).toBe('invalid_priority');
  });

  it.each(PRIORITIES)('accepts priority %j: carried as the envelope priority, removed from data', (priority) => {
    const event = withDetail({ tenantId: 'acme', goalId: 'g', title: 'T', priority });
    const prepared = prepareEnvelope(event, now);
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    expect(prepared.envelope.priority).toBe(priority);
    expect(prepared.envelope.data).toEqual({ tenantId: 'acme', goalId: 'g', title: 'T' });
    expect(JSON.parse(prepared.payload)).toEqual(prepared.envelope);
    expect(EnvelopeSchema.parse(prepared.envelope)).toEqual(prepared.envelope);
  });

  it('gives an event without priority the default, normal', () => {
    const prepared = prepareOk(withDetail({ tenantId: 'acme', goalId: 'g' }));
    expect(prepared.priority).toBe('normal');
    expect(prepared.data).not.toHaveProperty('priority');
  });

  it("carries the EventBridge source as the envelope's source, exactly", () => {
    const base = eventBridgeFixture('goal-created');
    for (const source of ['com.example.billing', 'Billing Service', 'a'.repeat(256), 'crm/eu-1']) {
      expect(prepareOk({ ...base, source }).source).toBe(source);
    }
    expect(prepareOk(eventBridgeFixture('billing-invoice-paid'))).toMatchObject({
      source: expect.any(String),
      priority: 'normal',
    });
  });

  it('strips priority and audience together, keeping both out of the payload', () => {
    const prepared = prepareEnvelope(
      withDetail({ tenantId: 'acme', goalId: 'g', priority: 'critical', audience: { roles: ['admin'] } }),
      now,
    );
    expect(prepared).toMatchObject({ ok: true, audience: { roles: ['admin'] }, envelope: { priority: 'critical' } });
    if (!prepared.ok) return;
    expect(prepared.envelope.data).toEqual({ tenantId: 'acme', goalId: 'g' });
    expect(JSON.parse(prepared.payload).data).toEqual({ tenantId: 'acme', goalId: 'g' });
  });

  it('describes the envelope with EnvelopeSchema: source and priority optional, checked when present', () => {
    const matches: EnvelopeSchemaMatches = true; // a compile-time check: the schema's type is the Envelope
    expect(matches).toBe(true);
    const envelope = prepareOk(eventBridgeFixture('goal-created'));
    const { source: _s, priority: _p, ...older } = envelope;
    expect(EnvelopeSchema.parse(older)).toEqual(older); // a logged envelope of before this change
    expect(EnvelopeSchema.safeParse({ ...envelope, priority: 'urgent' }).success).toBe(false);
    expect(EnvelopeSchema.safeParse({ ...envelope, source: '' }).success).toBe(false);
    expect(EnvelopeSchema.safeParse({ ...envelope, source: undefined }).success).toBe(false);
  });

  it('rejects a catalog type whose detail lacks its id field, naming the field', () => {
    const { reason, message } = rejection(prepareEnvelope(withDetail({ tenantId: 'acme', title: 'no id' }), now));
    expect(reason).toBe('invalid_detail');
    expect(message).toMatch(/^detail of goal\.created: goalId: /);
    const issue = rejection(
      prepareEnvelope({ ...withDetail({ tenantId: 'acme', issueId: 5 }), 'detail-type': 'issue.resolved' }, now),
    );
    expect(issue.reason).toBe('invalid_detail');
    expect(issue.message).toContain('issueId');
  });

  it.each([
    ['without an id', (e: EventBridgeFixture) => ({ ...e, id: undefined })],
    ['with an empty id', (e: EventBridgeFixture) => ({ ...e, id: '' })],
    ['without a detail-type', (e: EventBridgeFixture) => ({ ...e, 'detail-type': undefined })],
    ['that is not an object', () => 'goal.created'],
    ['that is null', () => null],
  ])('rejects an event %s as malformed_event', (_label, mutate) => {
    expect(rejection(prepareEnvelope(mutate(eventBridgeFixture('goal-created')), now)).reason).toBe('malformed_event');
  });

  it(`rejects an envelope over ${MAX_MESSAGE_BYTES} bytes as too_large, counting UTF-8 bytes`, () => {
    const base = eventBridgeFixture('goal-created');
    const overhead = Buffer.byteLength(
      JSON.stringify({ ...prepareOk(withDetail({ tenantId: 'acme', goalId: 'g', pad: '' }, base)) }),
      'utf8',
    );
    const fits = MAX_MESSAGE_BYTES - overhead;

    const atLimit = prepareEnvelope(withDetail({ tenantId: 'acme', goalId: 'g', pad: 'x'.repeat(fits) }, base), now);
    const overLimit = prepareEnvelope(
      withDetail({ tenantId: 'acme', goalId: 'g', pad: 'x'.repeat(fits + 1) }, base),
      now,
    );
    // 'é' is one character but two UTF-8 bytes: 70,000 of them are well over the limit.
    const multiByte = prepareEnvelope(
      withDetail({ tenantId: 'acme', goalId: 'g', pad: 'é'.repeat(70_000) }, base),
      now,
    );

    expect(atLimit.ok).toBe(true);
    if (atLimit.ok) expect(Buffer.byteLength(atLimit.payload, 'utf8')).toBe(MAX_MESSAGE_BYTES);
    expect(rejection(overLimit)).toEqual({
      reason: 'too_large',
      message: expect.stringContaining(`${MAX_MESSAGE_BYTES + 1} bytes`),
    });
    expect(rejection(multiByte).reason).toBe('too_large');
  });
});

function prepareOk(event: unknown) {
  const prepared = prepareEnvelope(event, now);
  if (!prepared.ok) throw new Error(`fixture rejected: ${prepared.message}`);
  return prepared.envelope;
}

describe('broadcast', () => {
  async function setup(overrides: Partial<BroadcastDeps> = {}) {
    const clock = new FakeClock();
    const store = new InMemoryConnectionStore();
    const log = new InMemoryEventLog();
    const sender = new ScriptedSender(clock.now);
    await seedAuthenticated(store, 'c1', { tenantId: 'acme', userId: 'user-7', roles: ['admin'] }, clock.seconds);
    await seedAuthenticated(store, 'c2', { tenantId: 'acme', userId: 'user-8' }, clock.seconds);
    await seedAuthenticated(store, 'c3', { tenantId: 'globex', userId: 'user-9' }, clock.seconds);
    const deps: BroadcastDeps = {
      store,
      log,
      sender,
      clock: clock.now,
      concurrency: 4,
      retentionSeconds: 86_400,
      sleep: recordingSleep().sleep,
      ...overrides,
    };
    return { clock, store, log, sender, deps };
  }

  it("logs the envelope once and delivers it to the tenant's connections", async () => {
    // Prepare
    const { clock, log, sender, deps } = await setup();
    const event = eventBridgeFixture('goal-created');
    // Act
    const result = await broadcast(deps, event);
    // Assess
    expect(result).toMatchObject({
      status: 'delivered',
      eventId: `evt_${event.id}`,
      tenantId: 'acme',
      type: 'goal.created',
      duplicate: false,
    });
    if (result.status !== 'delivered') return;
    expect(result.stats).toMatchObject({ recipients: 2, delivered: 2 });
    expect(log.envelopes('acme')).toEqual([prepareOk(event)]);
    expect(log.entries.get('acme')?.[0]?.ttl).toBe(clock.seconds + 86_400);
    expect(sender.received('c1')).toEqual([prepareOk(event)]);
    expect(sender.received('c2')).toEqual([prepareOk(event)]);
    expect(sender.attemptsFor('c3')).toBe(0);
  });

  it('reports a retried EventBridge event as a duplicate, logs it again at its own start, and still fans it out', async () => {
    const { clock, log, sender, deps } = await setup();
    const event = eventBridgeFixture('goal-created');

    const first = await broadcast(deps, event);
    const firstAt = clock.nowMs;
    clock.advance(90_000); // Lambda retries an async invocation a minute or two later
    const second = await broadcast(deps, eventBridgeFixture('goal-created'));

    expect(first).toMatchObject({ status: 'delivered', duplicate: false });
    expect(second).toMatchObject({
      status: 'delivered',
      duplicate: true,
      eventId: first.status === 'delivered' ? first.eventId : 'x',
    });
    expect(log.envelopes('acme')).toHaveLength(1);
    // One event, two copies: the retry's at its own start, pointing at the first (its resume position).
    const eventId = `evt_${event.id}`;
    expect(log.entries.get('acme')?.map((e) => e.position)).toEqual([
      eventLogSortKey(firstAt, eventId),
      eventLogSortKey(clock.nowMs, eventId),
    ]);
    expect(log.entries.get('acme')?.[1]?.first?.position).toBe(eventLogSortKey(firstAt, eventId));
    expect(await log.position('acme', eventId, clock.seconds)).toBe(eventLogSortKey(firstAt, eventId));
    expect(sender.received('c1').map((e) => e.eventId)).toEqual([eventId, eventId]);
  });

  it('logs the audience with the event and delivers only to the audience', async () => {
    const { log, sender, deps } = await setup();

    const result = await broadcast(deps, eventBridgeFixture('goal-created-with-audience'));

    expect(result).toMatchObject({ status: 'delivered', stats: { recipients: 2, delivered: 1, filtered: 1 } });
    expect(log.entries.get('acme')?.[0]?.audience).toEqual({ userIds: ['user-7'], roles: ['admin'] });
    expect(sender.received('c1')).toHaveLength(1);
    expect(sender.received('c1')[0]?.data).not.toHaveProperty('audience');
    expect(sender.attemptsFor('c2')).toBe(0);
  });

  it('logs source and priority with the envelope and delivers by them: a critical-only connection gets critical', async () => {
    const { log, sender, deps, store, clock } = await setup();
    await seedAuthenticated(store, 'crit', { tenantId: 'acme', userId: 'u-c', minPriority: 'critical' }, clock.seconds);
    await seedAuthenticated(store, 'crm', { tenantId: 'acme', userId: 'u-s', sources: ['crm'] }, clock.seconds);
    const base = eventBridgeFixture('goal-created');
    const urgent = { ...withDetail({ ...base.detail, priority: 'critical' }, base), id: 'e-critical', source: 'crm' };
    const plain = { ...base, id: 'e-normal' };

    const critical = await broadcast(deps, urgent);
    const normal = await broadcast(deps, plain);

    expect(critical).toMatchObject({ status: 'delivered', stats: { recipients: 4, delivered: 4, filtered: 0 } });
    expect(normal).toMatchObject({ status: 'delivered', stats: { recipients: 4, delivered: 2, filtered: 2 } });
    expect(log.envelopes('acme').map((e) => [e.eventId, e.source, e.priority])).toEqual([
      ['evt_e-critical', 'crm', 'critical'],
      ['evt_e-normal', 'com.example.goals', 'normal'],
    ]);
    expect(sender.received('crit').map((e) => e.eventId)).toEqual(['evt_e-critical']);
    expect(sender.received('crm').map((e) => e.eventId)).toEqual(['evt_e-critical']);
    expect(sender.received('c1').map((e) => e.eventId)).toEqual(['evt_e-critical', 'evt_e-normal']);
    expect(sender.received('crit')[0]).toMatchObject({ source: 'crm', priority: 'critical' });
    expect(sender.received('crit')[0]?.data).not.toHaveProperty('priority');
  });

  it('rejects a bad priority without logging or sending anything', async () => {
    const { log, sender, deps } = await setup();
    const base = eventBridgeFixture('goal-created');

    const result = await broadcast(deps, withDetail({ ...base.detail, priority: 'urgent' }, base));

    expect(result).toEqual({ status: 'rejected', reason: 'invalid_priority', message: expect.any(String) });
    expect(log.appendCalls).toBe(0);
    expect(sender.attempts).toEqual([]);
  });

  it('rejects an invalid event without logging or sending anything', async () => {
    const { log, sender, deps } = await setup();

    const result = await broadcast(deps, { ...eventBridgeFixture('goal-created'), 'detail-type': 'GoalCreated' });

    expect(result).toEqual({ status: 'rejected', reason: 'invalid_detail_type', message: expect.any(String) });
    expect(log.appendCalls).toBe(0);
    expect(sender.attempts).toEqual([]);
  });

  it('rejects (so EventBridge retries) when the log append fails, before sending anything', async () => {
    const failure = new Error('PutItem failed');
    const brokenLog: EventLog = {
      writeCopy: async () => Promise.reject(failure),
      markFirst: async () => ({ duplicate: false }),
      position: async () => undefined,
      read: async () => ({ items: [], done: true }),
      latest: async () => undefined,
    };
    const { sender, deps } = await setup({ log: brokenLog });

    await expect(broadcast(deps, eventBridgeFixture('goal-created'))).rejects.toBe(failure);
    expect(sender.attempts).toEqual([]);
  });

  it('rejects, having sent nothing, when the id marker write fails', async () => {
    const failure = new Error('conditional PutItem failed');
    const log = new InMemoryEventLog();
    const { sender, deps } = await setup({
      log: Object.assign(log, { markFirst: async () => Promise.reject(failure) }),
    });

    await expect(broadcast(deps, eventBridgeFixture('goal-created'))).rejects.toBe(failure);
    expect(sender.attempts).toEqual([]);
  });

  it('writes the copy before reading recipients, reads them while the marker is written, posts after both', async () => {
    const base = await setup();
    const steps: string[] = [];
    let markerDone: (v: { duplicate: boolean }) => void = () => undefined;
    const log = new InMemoryEventLog();
    const tracedLog: EventLog = Object.assign(log, {
      writeCopy: async (...a: Parameters<EventLog['writeCopy']>) => {
        await InMemoryEventLog.prototype.writeCopy.apply(log, a);
        steps.push('copy written');
      },
      markFirst: (...a: Parameters<EventLog['markFirst']>) => {
        steps.push('marker started');
        return new Promise<{ duplicate: boolean }>((resolve) => {
          markerDone = (v) => {
            steps.push('marker written');
            void InMemoryEventLog.prototype.markFirst.apply(log, a).then(() => resolve(v));
          };
        });
      },
    });
    const store = base.store;
    const recipients = store.recipients.bind(store);
    const tracedStore = Object.assign(store, {
      recipients: (tenantId: string) => {
        steps.push('recipients read');
        return recipients(tenantId);
      },
    });
    const sender = base.sender;
    const post = sender.post.bind(sender);
    sender.post = (id: string, payload: string) => {
      steps.push(`post ${id}`);
      return post(id, payload);
    };
    const done = broadcast(
      { ...base.deps, log: tracedLog, store: tracedStore, sender },
      eventBridgeFixture('goal-created'),
    );
    await new Promise((r) => setTimeout(r, 20));
    // Recipients are read, but nothing is sent while the marker is still being written.
    expect(steps).toEqual(['copy written', 'marker started', 'recipients read']);
    markerDone({ duplicate: false });
    const result = await done;
    expect(result).toMatchObject({ status: 'delivered', duplicate: false, stats: { delivered: 2 } });
    expect(steps.slice(0, 4)).toEqual(['copy written', 'marker started', 'recipients read', 'marker written']);
    expect(steps.slice(4).sort()).toEqual(['post c1', 'post c2']);
    expect(await log.position('acme', `evt_${eventBridgeFixture('goal-created').id}`, 0)).toBeDefined();
  });

  it('reports how long the fan-out took on its clock', async () => {
    const { clock, deps } = await setup();
    const slowClock = () => {
      const now = clock.nowMs;
      clock.advance(7);
      return now;
    };
    const result = await broadcast({ ...deps, clock: slowClock }, eventBridgeFixture('goal-created'));
    expect(result.status === 'delivered' && result.durationMs > 0).toBe(true);
  });
});
