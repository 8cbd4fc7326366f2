import { DEFAULT_KEEP_REQUEST } from '../defaults';

/**
 * What `client.request` keeps once its stream has started: `'all'`, the framework's
 * request object itself, which keeps Node's request and response (and the framework's
 * objects around them) alive for the stream's life; or the names of the properties to
 * keep, read once when the stream starts into a plain object.
 *
 * @publicApi
 */
export type SseKeepRequest = 'all' | readonly string[];

/** `request` as a started stream keeps it (see `SseKeepRequest`). */
export function keptRequest(request: unknown, keep: SseKeepRequest = DEFAULT_KEEP_REQUEST): unknown {
  if (keep === 'all' || request === null || typeof request !== 'object') return request;
  const kept: Record<string, unknown> = {};
  for (const name of keep) {
    const value = (request as Record<string, unknown>)[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}
