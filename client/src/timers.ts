/** Named timeouts, so an owner can clear them all in one place. */
export class Timers {
  readonly #ids = new Map<string, ReturnType<typeof setTimeout>>();
  #disposed = false;

  /** (Re)starts timer `key`; delays are clamped to what `setTimeout` can hold (~24.8 days; a negative one is 0). */
  set(key: string, ms: number, fn: () => void): void {
    this.clear(key);
    if (this.#disposed) return;
    this.#ids.set(
      key,
      setTimeout(
        () => {
          this.#ids.delete(key);
          fn();
        },
        Math.min(ms, 2_147_483_647),
      ),
    );
  }

  has(key: string): boolean {
    return this.#ids.has(key);
  }

  clear(key: string): void {
    clearTimeout(this.#ids.get(key));
    this.#ids.delete(key);
  }

  clearAll(): void {
    for (const id of this.#ids.values()) clearTimeout(id);
    this.#ids.clear();
  }

  /** Clears every timer and refuses new ones: late callbacks of a closed owner start nothing. */
  dispose(): void {
    this.#disposed = true;
    this.clearAll();
  }
}
