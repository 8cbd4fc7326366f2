/** The longest delay Node's `setTimeout` waits: past it, a timer fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer made by `setLongTimeout`. */
export interface LongTimeout {
  clear(): void;
}

/**
 * `setTimeout` for any delay (a run's `maxDuration` or `ttl` may be a month), unref'd:
 * it waits in steps Node can take. Node's own fires at once past about 24.8 days.
 */
export function setLongTimeout(callback: () => void, ms: number): LongTimeout {
  let timer: NodeJS.Timeout;
  const arm = (left: number): void => {
    timer = setTimeout(
      () => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : callback()),
      Math.min(left, MAX_TIMER_MS),
    );
    // A run's timer must not keep the process alive.
    timer.unref();
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
