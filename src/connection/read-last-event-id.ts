import type { IncomingMessage } from 'node:http';

/**
 * The id a reconnecting client says it saw last: the `Last-Event-ID` header that
 * `EventSource` sends, or a `lastEventId` query parameter for polyfills that cannot
 * set headers. The header wins.
 */
export function readLastEventId(req: IncomingMessage): string | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string') return header;
  const url = req.url;
  if (!url || !url.includes('lastEventId=')) return undefined;
  return new URL(url, 'http://localhost').searchParams.get('lastEventId') ?? undefined;
}
