import { describe, expect, it } from 'vitest';
import {
  MAX_FILTER_SOURCES,
  MAX_SOURCE_LENGTH,
  MAX_SUBSCRIPTIONS,
  MAX_TOKEN_LENGTH,
  PRIORITIES,
} from '../../lambdas/contract/index.js';
import { diagnoseFrame, parseAction, parseJsonObject } from '../../lambdas/core/frames.js';

const subscribe = (eventTypes: unknown) => JSON.stringify({ action: 'subscribe', eventTypes });

describe('parseJsonObject', () => {
  it.each([undefined, null, ''])('refuses an empty frame (%j)', (body) => {
    expect(parseJsonObject(body)).toEqual({
      ok: false,
      problem: 'bad_request',
      message: 'empty frame: send a JSON object',
    });
  });

  it.each(['{', 'not json', "{'action':'ping'}", '{"action":"ping",}'])('refuses invalid JSON %s', (body) => {
    expect(parseJsonObject(body)).toEqual({ ok: false, problem: 'bad_request', message: 'frame is not valid JSON' });
  });

  it.each(['[]', '[{"action":"ping"}]', '"x"', '1', 'null', 'true'])(
    'refuses JSON that is not an object: %s',
    (body) => {
      const result = parseJsonObject(body);
      expect(result).toEqual({ ok: false, problem: 'bad_request', message: expect.stringContaining('JSON object') });
    },
  );

  it('accepts an object', () => {
    expect(parseJsonObject('{"action":"ping","x":1}')).toEqual({ ok: true, message: { action: 'ping', x: 1 } });
  });
});

describe('parseAction', () => {
  it('parses a valid auth frame', () => {
    expect(parseAction('{"action":"auth","token":"a.b.c"}', 'auth')).toEqual({
      ok: true,
      message: { action: 'auth', token: 'a.b.c' },
    });
  });

  it.each([
    ['{"action":"auth","token":5}', 'token'],
    ['{"action":"auth"}', 'token'],
    ['{"action":"auth","token":""}', 'token'],
    [JSON.stringify({ action: 'auth', token: 'x'.repeat(MAX_TOKEN_LENGTH + 1) }), 'token'],
    ['{"action":"resume","lastEventId":7}', 'lastEventId'],
  ])('names the failing field of %s', (body, field) => {
    const action = JSON.parse(body).action as 'auth' | 'resume';
    const result = parseAction(body, action);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toBe('bad_request');
      expect(result.message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it('refuses a frame for another action than the route (action literal is checked)', () => {
    const result = parseAction('{"action":"ping"}', 'auth');
    expect(result).toMatchObject({ ok: false, problem: 'bad_request', message: expect.stringMatching(/^action: /) });
  });

  it.each([['goal.created'], ['goal.*'], ['billing.invoice.paid'], ['billing.invoice.*'], ['a-b.c_d']])(
    'accepts the subscription pattern %s',
    (pattern) => {
      expect(parseAction(subscribe([pattern]), 'subscribe')).toEqual({
        ok: true,
        message: { action: 'subscribe', eventTypes: [pattern] },
      });
    },
  );

  it.each([
    '*',
    'goal.**',
    '../',
    'goal',
    '.goal',
    'goal.',
    '*.created',
    'goal.*.done',
    '1goal.created',
    'goal created',
    '',
  ])('refuses the subscription pattern %j, naming eventTypes.<index>', (pattern) => {
    const result = parseAction(subscribe(['goal.created', pattern]), 'subscribe');
    expect(result).toMatchObject({
      ok: false,
      problem: 'bad_request',
      message: expect.stringMatching(/^eventTypes\.1: /),
    });
  });

  it('names eventTypes.0 when the first pattern is bad', () => {
    const result = parseAction(subscribe(['*']), 'subscribe');
    expect(result).toEqual({
      ok: false,
      problem: 'bad_request',
      message: 'eventTypes.0: must be an event type ("goal.created") or a prefix wildcard ("goal.*")',
    });
  });

  it('refuses eventTypes that is not an array', () => {
    expect(parseAction(subscribe('goal.*'), 'subscribe')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^eventTypes: /),
    });
    expect(parseAction(subscribe([1]), 'subscribe')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^eventTypes\.0: /),
    });
  });

  it(`refuses 1,000 patterns in one frame (at most ${MAX_SUBSCRIPTIONS})`, () => {
    const patterns = Array.from({ length: 1000 }, (_, i) => `goal.t${i}`);
    expect(parseAction(subscribe(patterns), 'subscribe')).toEqual({
      ok: false,
      problem: 'bad_request',
      message: `eventTypes: must hold at most ${MAX_SUBSCRIPTIONS} patterns`,
    });
  });

  it(`accepts exactly ${MAX_SUBSCRIPTIONS} patterns`, () => {
    const patterns = Array.from({ length: MAX_SUBSCRIPTIONS }, (_, i) => `goal.t${i}`);
    expect(parseAction(subscribe(patterns), 'subscribe').ok).toBe(true);
  });
});

describe('parseAction: the filter fields of subscribe and unsubscribe', () => {
  const frame = (action: string, fields: Record<string, unknown>) => JSON.stringify({ action, ...fields });

  it.each(['subscribe', 'unsubscribe'] as const)('%s: every field is optional, and all three are read', (action) => {
    expect(parseAction(frame(action, {}), action)).toEqual({ ok: true, message: { action } });
    expect(
      parseAction(frame(action, { eventTypes: ['goal.*'], sources: ['billing', 'crm'], minPriority: 'high' }), action),
    ).toEqual({
      ok: true,
      message: { action, eventTypes: ['goal.*'], sources: ['billing', 'crm'], minPriority: 'high' },
    });
    expect(parseAction(frame(action, { sources: [] }), action)).toEqual({ ok: true, message: { action, sources: [] } });
  });

  it.each(PRIORITIES)('accepts minPriority %j', (minPriority) => {
    expect(parseAction(frame('subscribe', { minPriority }), 'subscribe')).toEqual({
      ok: true,
      message: { action: 'subscribe', minPriority },
    });
  });

  it.each([
    ['an unknown word', 'urgent'],
    ['upper case', 'HIGH'],
    ['empty', ''],
    ['a number', 3],
    ['null', null],
    ['a list', ['high']],
  ])('refuses a minPriority that is %s, naming minPriority and the values', (_label, minPriority) => {
    for (const action of ['subscribe', 'unsubscribe'] as const) {
      const result = parseAction(frame(action, { minPriority }), action);
      expect(result).toMatchObject({
        ok: false,
        problem: 'bad_request',
        message: expect.stringMatching(/^minPriority: /),
      });
      if (!result.ok) for (const p of PRIORITIES) expect(result.message).toContain(`"${p}"`);
    }
  });

  it.each([
    ['not an array', 'billing', /^sources: /],
    ['null', null, /^sources: /],
    ['a number inside', ['billing', 7], /^sources\.1: /],
    ['an empty source', [''], /^sources\.0: must not be empty/],
    [`a source of ${MAX_SOURCE_LENGTH + 1} characters`, ['x'.repeat(MAX_SOURCE_LENGTH + 1)], /^sources\.0: /],
    ['a lone surrogate', ['billing\ud800'], /^sources\.0: /],
    [
      `${MAX_FILTER_SOURCES + 1} sources`,
      Array.from({ length: MAX_FILTER_SOURCES + 1 }, (_, i) => `s${i}`),
      new RegExp(`^sources: must hold at most ${MAX_FILTER_SOURCES} sources`),
    ],
  ])('refuses sources that are %s, naming the field', (_label, sources, message) => {
    for (const action of ['subscribe', 'unsubscribe'] as const)
      expect(parseAction(frame(action, { sources }), action)).toMatchObject({
        ok: false,
        problem: 'bad_request',
        message,
      });
  });

  it(`accepts ${MAX_FILTER_SOURCES} sources of ${MAX_SOURCE_LENGTH} characters, matched as written`, () => {
    const sources = Array.from({ length: MAX_FILTER_SOURCES }, (_, i) => `${i}`.padEnd(MAX_SOURCE_LENGTH, 'x'));
    expect(parseAction(frame('subscribe', { sources }), 'subscribe').ok).toBe(true);
    expect(parseAction(frame('subscribe', { sources: [' Billing Service '] }), 'subscribe')).toMatchObject({
      ok: true,
      message: { sources: [' Billing Service '] },
    });
  });
});

describe('diagnoseFrame', () => {
  it.each([
    ['{', 'bad_request', 'frame is not valid JSON'],
    ['[]', 'bad_request', 'frame must be a JSON object with an "action" field'],
    ['"x"', 'bad_request', 'frame must be a JSON object with an "action" field'],
    ['1', 'bad_request', 'frame must be a JSON object with an "action" field'],
    ['null', 'bad_request', 'frame must be a JSON object with an "action" field'],
    ['{}', 'unknown_action', 'missing "action" field'],
    ['{"token":"x"}', 'unknown_action', 'missing "action" field'],
    ['{"action":"dance"}', 'unknown_action', 'unknown action "dance"'],
    ['{"action":5}', 'unknown_action', 'unknown action 5'],
    ['{"action":null}', 'unknown_action', 'unknown action null'],
    ['{"action":"$connect"}', 'unknown_action', 'unknown action "$connect"'],
  ])('%s → %s', (body, problem, message) => {
    expect(diagnoseFrame(body)).toMatchObject({ problem, message });
  });

  it('truncates a long unknown action in its message', () => {
    const result = diagnoseFrame(JSON.stringify({ action: 'x'.repeat(10_000) }));
    expect(result.problem).toBe('unknown_action');
    expect(result.message.length).toBeLessThanOrEqual('unknown action '.length + 64);
  });

  it('names the field of a known action with a wrong type', () => {
    expect(diagnoseFrame('{"action":"auth","token":5}')).toMatchObject({
      problem: 'bad_request',
      message: 'token: Invalid input: expected string, received number',
    });
    expect(diagnoseFrame(subscribe(['goal.created', 'goal']))).toMatchObject({
      problem: 'bad_request',
      message: expect.stringMatching(/^eventTypes\.1: /),
    });
  });

  it('tells the client to resend a valid frame that reached $default', () => {
    expect(diagnoseFrame('{"action":"ping"}')).toEqual({
      problem: 'bad_request',
      message: '"ping" was not routed; send it again',
    });
  });
});
