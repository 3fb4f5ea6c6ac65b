/**
 * Reconnect delay before attempt `step` (0-based): full jitter over `[cap / 10, cap]`, where
 * `cap = min(max, initial · 2^step)`. Uniform randomness spreads clients that lost their
 * connections together; the floor of a tenth of the cap keeps even a run of unlucky draws from
 * spinning (at least 50 ms, 100 ms, 200 ms … with the defaults).
 */
export function backoff(step: number, initial: number, max: number, random: () => number = Math.random): number {
  const cap = Math.min(max, initial * 2 ** Math.min(step, 30));
  return cap / 10 + ((cap * 9) / 10) * random();
}
