/** The fakes are only useful if they are faithful: the port contracts, plus the sender's script. */
import { describe, expect, it } from 'vitest';
import { SendError } from '../../lambdas/core/errors.js';
import { InMemoryConnectionStore, InMemoryEventLog, ScriptedSender, throttled } from './fakes.js';
import { connectionStoreContract, eventLogContract } from './store-contract.js';

connectionStoreContract('InMemoryConnectionStore (page size 2)', () => new InMemoryConnectionStore({ pageSize: 2 }));
eventLogContract('InMemoryEventLog', () => new InMemoryEventLog());

describe('ScriptedSender', () => {
  it('plays each connection its script in order, repeats the last step, and defaults to ok', async () => {
    // Prepare
    const sender = new ScriptedSender().script('c1', throttled(), 'gone', 'ok');
    // Act
    const first = sender.post('c1', 'p').catch((err: unknown) => err);
    const results = [
      await first,
      await sender.post('c1', 'p'),
      await sender.post('c1', 'p'),
      await sender.post('c1', 'p'),
      await sender.post('other', 'p'),
    ];
    // Assess
    expect(results[0]).toBeInstanceOf(SendError);
    expect((results[0] as SendError).status).toBe(429);
    expect(results.slice(1)).toEqual(['gone', 'sent', 'sent', 'sent']);
    expect(sender.attemptsFor('c1')).toBe(4);
    expect(sender.completions.map((c) => c.result)).toEqual(['gone', 'sent', 'sent', 'sent']);
  });

  it('counts posts in flight across delayed steps', async () => {
    const sender = new ScriptedSender().script('slow', { delayMs: 5 });
    await Promise.all([sender.post('slow', 'a'), sender.post('fast', 'b')]);
    expect(sender.maxInFlight).toBe(2);
    expect(sender.inFlight).toBe(0);
    expect(sender.completions.map((c) => c.connectionId)).toEqual(['fast', 'slow']);
  });
});
