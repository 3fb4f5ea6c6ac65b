/**
 * Fakes of the two browser APIs tab sharing uses, for unit tests in Node: Web Locks
 * (`navigator.locks`, exclusive mode with `signal`) and BroadcastChannel. Every client of a test
 * is a "tab" of one fake browser. Frames are delivered on a timer (as a task, like the real
 * channel), as structured clones, to the other open channels of the same name; a crash releases
 * a tab's lock and closes its channels without a word, as a closing page does.
 */
import { vi } from 'vitest';

interface LockRequest {
  grant: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class FakeLocks {
  private readonly held = new Map<string, () => void>();
  private readonly waiting = new Map<string, LockRequest[]>();

  request(name: string, options: { signal?: AbortSignal }, grant: () => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req: LockRequest = { grant, resolve, reject };
      const queue = this.waiting.get(name) ?? [];
      this.waiting.set(name, queue);
      queue.push(req);
      options.signal?.addEventListener('abort', () => {
        const i = queue.indexOf(req);
        if (i < 0) return; // granted already: the signal no longer matters
        queue.splice(i, 1);
        reject(new DOMException('The request was aborted.', 'AbortError'));
      });
      this.pump(name);
    });
  }

  /** Lock names held now. */
  names(): string[] {
    return [...this.held.keys()];
  }

  /** The holder's page went away: the lock is released, its callback never settles. */
  crash(name: string): void {
    this.held.get(name)?.();
  }

  /** Requests waiting for `name`. */
  queued(name: string): number {
    return this.waiting.get(name)?.length ?? 0;
  }

  private pump(name: string): void {
    if (this.held.has(name)) return;
    const req = this.waiting.get(name)?.shift();
    if (!req) return;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      this.held.delete(name);
      this.pump(name);
    };
    this.held.set(name, release);
    Promise.resolve()
      .then(() => req.grant())
      .then(
        (v) => {
          release();
          req.resolve(v);
        },
        (e) => {
          release();
          req.reject(e);
        },
      );
  }
}

type Listener = ((ev: { data: unknown }) => void) | null;

export class FakeBroadcastChannel {
  static open: FakeBroadcastChannel[] = [];
  /** Every frame posted, with its channel name, for tests that read the traffic. */
  static posted: Array<{ name: string; data: Record<string, unknown> }> = [];

  onmessage: Listener = null;
  closed = false;
  /** Its page crashed: what its code still does goes nowhere. */
  dead = false;
  /** Tab ids seen in frames this channel posted (`f`). */
  readonly senders = new Set<string>();

  constructor(readonly name: string) {
    FakeBroadcastChannel.open.push(this);
  }

  postMessage(data: Record<string, unknown>): void {
    if (this.dead) return;
    if (this.closed) throw new DOMException('BroadcastChannel is closed.', 'InvalidStateError');
    const copy = structuredClone(data);
    if (typeof data.f === 'string') this.senders.add(data.f);
    FakeBroadcastChannel.posted.push({ name: this.name, data: copy });
    for (const other of FakeBroadcastChannel.open) {
      if (other === this || other.name !== this.name) continue;
      setTimeout(() => {
        if (!other.closed) other.onmessage?.({ data: structuredClone(copy) });
      }, 0);
    }
  }

  close(): void {
    if (this.dead) return;
    this.closed = true;
    FakeBroadcastChannel.open = FakeBroadcastChannel.open.filter((c) => c !== this);
  }
}

/** Installs a fresh fake browser as the globals; undo with `vi.unstubAllGlobals()`. */
export function fakeBrowser(): { locks: FakeLocks } {
  const locks = new FakeLocks();
  FakeBroadcastChannel.open = [];
  FakeBroadcastChannel.posted = [];
  vi.stubGlobal('navigator', { locks });
  vi.stubGlobal('BroadcastChannel', FakeBroadcastChannel);
  return { locks };
}

/** A tab's page dies: its lock goes and its channels close, with no goodbye. */
export function crashTab(locks: FakeLocks, lockName: string, tabId: string): void {
  for (const ch of [...FakeBroadcastChannel.open]) {
    if (!ch.senders.has(tabId)) continue;
    ch.close();
    ch.dead = true;
  }
  locks.crash(lockName);
}

const b64url = (s: string) => Buffer.from(s).toString('base64url');

/** An unsigned JWT-shaped token: only its payload matters to the client (it keys the lock). */
export function fakeJwt(claims: Record<string, unknown>): string {
  return `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.c2ln`;
}
