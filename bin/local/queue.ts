/**
 * Serial work per key, keys in parallel: the gateway keeps one lane per connection (replies in
 * arrival order), the EventBridge endpoint one per tenant (delivery in put order).
 */
export class KeyedSerialQueue {
  private readonly lanes = new Map<string, { tail: Promise<void>; size: number }>();
  private readonly idleWaiters: Array<() => void> = [];
  private pendingTotal = 0;

  /** Jobs queued or running for `key`. */
  size(key: string): number {
    return this.lanes.get(key)?.size ?? 0;
  }

  /** Jobs queued or running over all keys. */
  get pending(): number {
    return this.pendingTotal;
  }

  /**
   * Runs `job` after every earlier job of `key`. Never rejects: a job must handle its own
   * errors (a failure here is reported to `onError` and the lane goes on).
   */
  push(key: string, job: () => Promise<void>, onError: (err: unknown) => void): void {
    const lane = this.lanes.get(key) ?? { tail: Promise.resolve(), size: 0 };
    lane.size += 1;
    this.pendingTotal += 1;
    lane.tail = lane.tail
      .then(job)
      .catch(onError)
      .finally(() => {
        lane.size -= 1;
        this.pendingTotal -= 1;
        if (lane.size === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
        if (this.pendingTotal === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    this.lanes.set(key, lane);
  }

  /** Resolves when no job is queued or running. */
  idle(): Promise<void> {
    if (this.pendingTotal === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fixed-size buffer keeping the newest `capacity` items. */
export class RingBuffer<T> {
  private readonly items: T[] = [];
  constructor(private readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  /** Oldest first. */
  list(): T[] {
    return [...this.items];
  }

  get length(): number {
    return this.items.length;
  }
}
