/**
 * `npm run cost` measures its unit costs on the real local runtime: this runs that measurement and
 * checks the counts against what the protocol must cost (one delivery is one outbound message,
 * an event is one EventBridge event and one broadcaster invocation, and so on).
 */
import { describe, expect, it } from 'vitest';
import { measureProfile, workloadFromArgs } from '../../bin/cost.js';
import { Handler } from '../../lambdas/contract/index.js';

describe('npm run cost: measured unit costs', () => {
  it('counts what sessions, pings, events and deliveries cost on the local runtime', async () => {
    const { profile } = await measureProfile();
    // A session: auth, subscribe and resume requests with their replies (at least 6 messages),
    // one connect, one auth and one disconnect invocation, and connection-record writes.
    expect(profile.session.wsMessages).toBeGreaterThanOrEqual(6);
    expect(profile.session.lambda[Handler.connect]?.invocations).toBeCloseTo(1);
    expect(profile.session.lambda[Handler.auth]?.invocations).toBeCloseTo(1);
    expect(profile.session.lambda[Handler.disconnect]?.invocations).toBeCloseTo(1);
    expect(profile.session.dynamo.connections?.write).toBeGreaterThanOrEqual(3);
    // A ping is a request and its reply.
    expect(profile.ping.wsMessages).toBeCloseTo(2);
    // An event: one EventBridge event, one broadcaster invocation, at least two log writes
    // (its copy and its id marker), and a tenant index read.
    expect(profile.event.eventBridgeEvents).toBeCloseTo(1);
    expect(profile.event.lambda[Handler.broadcaster]?.invocations).toBeCloseTo(1);
    expect(profile.event.dynamo.events?.write).toBeGreaterThanOrEqual(2);
    // One more recipient costs one outbound message and no more broadcaster invocations.
    expect(profile.delivery.wsMessages).toBeCloseTo(1, 1);
    expect(profile.delivery.lambda[Handler.broadcaster]?.invocations ?? 0).toBeCloseTo(0);
  }, 90_000);

  it('refuses a workload option out of range, naming it', () => {
    expect(() => workloadFromArgs(['--audience-share', '2'])).toThrow(/--audience-share must be a number in 0..1/);
    expect(workloadFromArgs(['--connections', '50']).connections).toBe(50);
  });
});
