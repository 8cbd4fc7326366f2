import { EMPTY, from, isObservable, type Observable, of } from 'rxjs';

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null | undefined)?.[Symbol.asyncIterator] === 'function';
}

/** Whether a handler result is a stream of its own, whose end ends the SSE stream. */
export function isStream(value: unknown): boolean {
  return isObservable(value) || isAsyncIterable(value);
}

/**
 * The values a handler or hook result stands for. An array is one value (JSON data),
 * not a list of events: a stream of events is an Observable or an AsyncIterable.
 */
export function toObservable(value: unknown): Observable<unknown> {
  if (value === undefined || value === null) return EMPTY;
  if (isObservable(value)) return value;
  if (isAsyncIterable(value)) return from(value);
  return of(value);
}
