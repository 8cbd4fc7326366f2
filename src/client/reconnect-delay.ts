/**
 * How long to wait before the next attempt. After a stream that got events: the base delay
 * (the server's `retry:`, else the client's) and up to half as much again, never less than
 * the server asked for (as `EventSource` waits). After failed attempts in a row: the base
 * doubled for each, up to `cap` (never below the base), with "equal jitter", between half
 * of it and all of it, and never below the base. Either way the clients a restarting
 * server dropped at once do not come back at once.
 *
 * @param base The delay without failures, ms.
 * @param failures Consecutive attempts that failed (0 after one that received an event).
 * @param cap The most the back-off may grow to, ms.
 * @param random A number in [0, 1) (`Math.random()`; fixed in tests).
 */
export function reconnectDelay(base: number, failures: number, cap: number, random: number): number {
  if (failures === 0) return base + (base / 2) * random;
  const delay = Math.min(base * 2 ** Math.min(failures, 30), Math.max(cap, base));
  return Math.max(base, delay / 2 + (delay / 2) * random);
}
