import { SseModuleOptions } from './sse-module-options.interface';
import { SseRouteOptions } from './sse-route-options.interface';

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Refuses options that would make every stream misbehave, at start-up rather than per request. */
export function validateStreamOptions(options: SseModuleOptions & SseRouteOptions, where: string): void {
  const { keepAlive, retry, history, shutdownRetry, resyncEvent } = options;
  if (keepAlive !== undefined && keepAlive !== false && !(typeof keepAlive === 'number' && Number.isFinite(keepAlive) && keepAlive > 0)) {
    throw new TypeError(`${where}: keepAlive must be a positive number of milliseconds or false, got ${String(keepAlive)}.`);
  }
  if (retry !== undefined && !(Number.isSafeInteger(retry) && retry >= 0)) {
    throw new TypeError(`${where}: retry must be a non-negative integer number of milliseconds, got ${String(retry)}.`);
  }
  if (history !== undefined && history !== false && !(typeof history === 'object' && (history.size === undefined || isCount(history.size)))) {
    throw new TypeError(`${where}: history must be false or { size } with a non-negative integer size, got ${JSON.stringify(history)}.`);
  }
  if (shutdownRetry !== undefined && shutdownRetry !== false && !(isCount(shutdownRetry?.min) && isCount(shutdownRetry?.max) && shutdownRetry.min <= shutdownRetry.max)) {
    throw new TypeError(`${where}: shutdownRetry must be false or { min, max } with integers 0 ≤ min ≤ max, got ${JSON.stringify(shutdownRetry)}.`);
  }
  if (resyncEvent !== undefined && (typeof resyncEvent !== 'string' || resyncEvent === '' || /[\r\n]/.test(resyncEvent))) {
    throw new TypeError(`${where}: resyncEvent must be a non-empty event name without line breaks, got ${JSON.stringify(resyncEvent)}.`);
  }
}
