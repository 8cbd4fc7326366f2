// From Node ≥ 20 (a worker, a CLI, a test): the same client, on Node's own fetch.
import { createSseClient } from 'nestjs-sse-hub/client';
import type { ChatEvents } from '../chat.events';

export function follow(baseUrl: string, token: string, signal: AbortSignal): Promise<void> {
  const stream = createSseClient<ChatEvents>(`${baseUrl}/me/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal, // aborting it closes the stream for good, as stream.close() does
    retry: 2000, // until the server's own `retry:`
    maxRetryDelay: 60_000, // the cap on the back-off after failed attempts
    // lastEventId: saved.lastEventId, // to resume from a position stored earlier
    // fetch: myFetch, // a wrapper (logging, a proxy agent) instead of globalThis.fetch
  });
  stream.on('message', ({ from, text }, meta) => process.stdout.write(`${meta.id} ${from}: ${text}\n`));
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => resolve());
    stream.onError((error) => {
      if (!error.willRetry) reject(error); // 401, 403, 404, 204, or not an event stream
    });
  });
}
