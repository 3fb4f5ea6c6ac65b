/**
 * A fake `fetch` for the polling tests: every request waits until the test answers it, and
 * rejects like the platform's when its signal aborts. No network, driven under fake timers.
 */
import type { Envelope, EventsResponse } from '../../lambdas/contract/plain.js';

export class FakeRequest {
  readonly url: URL;
  answered = false;
  aborted = false;
  private settle: { resolve: (r: FakeResponse) => void; reject: (e: unknown) => void } | undefined;
  readonly done: Promise<FakeResponse>;

  constructor(
    url: string,
    readonly token: string | undefined,
    readonly signal: AbortSignal,
  ) {
    this.url = new URL(url);
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    const abort = () => {
      this.aborted = true;
      this.settle?.reject(new DOMException('This operation was aborted', 'AbortError'));
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort);
  }

  get path(): string {
    return this.url.pathname;
  }

  /** Query parameters (absent ones are undefined). */
  param(name: string): string | undefined {
    return this.url.searchParams.get(name) ?? undefined;
  }

  reply(status: number, body: unknown): void {
    if (this.answered) throw new Error(`already answered: ${this.url}`);
    this.answered = true;
    this.settle?.resolve(new FakeResponse(status, body));
  }

  /** `200 {events, lastEventId, more}`; `lastEventId` defaults to the last event's, else `after`. */
  events(events: Envelope[], more = false, lastEventId?: string | null): void {
    const last = lastEventId !== undefined ? lastEventId : (events.at(-1)?.eventId ?? this.param('after') ?? null);
    this.reply(200, { events, lastEventId: last, more } satisfies EventsResponse);
  }

  error(status: number, code: string, message = code): void {
    this.reply(status, { code, message });
  }

  /** The network failed: `fetch` rejects. */
  fail(): void {
    this.answered = true;
    this.settle?.reject(new TypeError('fetch failed'));
  }
}

class FakeResponse {
  constructor(
    readonly status: number,
    private readonly body: unknown,
  ) {}
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  async json(): Promise<unknown> {
    if (typeof this.body === 'string') return JSON.parse(this.body);
    return this.body;
  }
}

export class FakeHttp {
  readonly requests: FakeRequest[] = [];

  readonly fetch = (url: string, init: { headers: Record<string, string>; signal: AbortSignal }) => {
    const auth = init.headers.authorization;
    const req = new FakeRequest(url, auth?.replace(/^Bearer /, ''), init.signal);
    this.requests.push(req);
    return req.done;
  };

  /** Requests not answered (nor aborted) yet. */
  get pending(): FakeRequest[] {
    return this.requests.filter((r) => !r.answered && !r.aborted);
  }

  /** The one pending request; fails the test when there are none or several. */
  get next(): FakeRequest {
    const pending = this.pending;
    if (pending.length !== 1)
      throw new Error(`expected one pending request, got ${pending.map((r) => r.url.href).join(', ') || 'none'}`);
    return pending[0] as FakeRequest;
  }
}
