/**
 * How long to wait before the next attempt. After a stream that got events: the base delay
 * (the server's `retry:`, else the client's) and up to half as much again, never less than
 * the server asked for (as `EventSource` waits). After failed attempts in a row: the base
 * doubled for each, up to `cap` (never below the base), with "equal jitter", between half
 * of it and all of it, and never below the base. Either way the clients a restarting
 * server dropped at once do not come back at once. Failed attempts back off from at least
 * 250 ms, even after a server's `retry: 0`; no wait is longer than `setTimeout` can wait.
 *
 * @param base The delay without failures, ms.
 * @param failures Consecutive attempts that failed (0 after one that received an event).
 * @param cap The most the back-off may grow to, ms.
 * @param random A number in [0, 1) (`Math.random()`; fixed in tests).
 */
export function reconnectDelay(base: number, failures: number, cap: number, random: number): number {
  if (failures === 0) return Math.min(base + (base / 2) * random, MAX_TIMEOUT);
  // Failures back off from at least MIN_BACKOFF: a server's `retry: 0` must not make a storm of them.
  const delay = Math.min(Math.max(base, MIN_BACKOFF) * 2 ** Math.min(failures, 30), Math.max(cap, base));
  return Math.min(Math.max(base, delay / 2 + (delay / 2) * random), MAX_TIMEOUT);
}

/** The least a back-off after a failed attempt starts from, ms. */
const MIN_BACKOFF = 250;
/** `setTimeout`'s longest delay: a longer one fires at once. */
export const MAX_TIMEOUT = 2 ** 31 - 1;
