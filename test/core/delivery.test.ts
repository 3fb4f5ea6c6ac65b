/** The delivery helpers' bounded pool: the fan-out's and the sweeper's concurrency limit. */
import { describe, expect, it } from 'vitest';
import { boundedPool } from '../../lambdas/core/delivery.js';

describe('boundedPool', () => {
  it('never runs more than `concurrency` tasks, keeps every slot busy and starts tasks in order', async () => {
    // Prepare: 200 tasks that finish in a scrambled order
    const pool = boundedPool(7);
    let running = 0;
    let maxRunning = 0;
    const started: number[] = [];
    const finishers: Array<() => void> = [];
    const task = (i: number) => async () => {
      started.push(i);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((resolve) => finishers.push(resolve));
      running--;
    };
    // Act: the caller awaits each `run` (a free slot), as fanOut does, while tasks finish
    const finishing = (async () => {
      for (let settledCount = 0; settledCount < 200; ) {
        await new Promise((resolve) => setImmediate(resolve));
        // Full pool: finish a random one of the running tasks
        if (finishers.length > 0 && (running === 7 || started.length === 200)) {
          finishers.splice(Math.floor(Math.random() * finishers.length), 1)[0]!();
          settledCount++;
        }
      }
    })();
    for (let i = 0; i < 200; i++) {
      await pool.run(task(i));
      expect(running).toBeLessThanOrEqual(7);
    }
    await finishing;
    await pool.drain();
    // Assess
    expect(maxRunning).toBe(7);
    expect(started).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(running).toBe(0);
  });

  it('drain waits for the tasks still running', async () => {
    const pool = boundedPool(3);
    let done = 0;
    for (let i = 0; i < 5; i++)
      await pool.run(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5 * i));
        done++;
      });
    await pool.drain();
    expect(done).toBe(5);
  });
});
