/**
 * How long to wait before the next attempt: the base delay (the server's `retry:`, else
 * the client's), doubled for each consecutive failed attempt up to `cap` (never below the
 * base), then "equal jitter" — between half of it and all of it — so that the clients a
 * restarting server dropped at once do not come back at once, and never later than asked.
 *
 * @param base The delay without failures, ms.
 * @param failures Consecutive attempts that failed (0 after one that received an event).
 * @param cap The most the back-off may grow to, ms.
 * @param random A number in [0, 1) (`Math.random()`; fixed in tests).
 */
export function reconnectDelay(base: number, failures: number, cap: number, random: number): number {
  const delay = Math.min(base * 2 ** Math.min(failures, 30), Math.max(cap, base));
  return delay / 2 + (delay / 2) * random;
}
