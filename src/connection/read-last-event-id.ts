import type { IncomingMessage } from 'node:http';

/**
 * The id a reconnecting client says it saw last: the `Last-Event-ID` header that
 * `EventSource` sends, or a `lastEventId` query parameter for polyfills that cannot
 * set headers. The header wins.
 */
export function readLastEventId(req: IncomingMessage): string | undefined {
  // Empty is no id: EventSource sends the header only when it has one, and an empty
  // `id:` field resets it, so an empty value is a client that has none.
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return header;
  const url = req.url;
  if (!url || !url.includes('lastEventId=')) return undefined;
  return new URL(url, 'http://localhost').searchParams.get('lastEventId') || undefined;
}
