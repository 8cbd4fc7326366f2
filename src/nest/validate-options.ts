import { SseStreamOptions } from './sse-stream-options.interface';

/** Refuses options that would make every stream misbehave, at start-up rather than per request. */
export function validateStreamOptions(options: SseStreamOptions, where: string): void {
  const { keepAlive, retry } = options;
  if (keepAlive !== undefined && keepAlive !== false && !(typeof keepAlive === 'number' && Number.isFinite(keepAlive) && keepAlive > 0)) {
    throw new TypeError(`${where}: keepAlive must be a positive number of milliseconds or false, got ${String(keepAlive)}.`);
  }
  if (retry !== undefined && !(Number.isSafeInteger(retry) && retry >= 0)) {
    throw new TypeError(`${where}: retry must be a non-negative integer number of milliseconds, got ${String(retry)}.`);
  }
}
