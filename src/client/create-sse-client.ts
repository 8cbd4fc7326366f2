import { createParser } from 'eventsource-parser';
import { MAX_TIMEOUT, reconnectDelay } from './reconnect-delay.js';
import { SseClientError } from './sse-client-error.js';
import { type SseClientOptions } from './sse-client-options.interface.js';
import { type SseClientStatus } from './sse-client-status.type.js';
import { type SseClientListener, type SseClientStream } from './sse-client-stream.interface.js';
import { type SseEventMeta } from './sse-event-meta.interface.js';

/** Why an attempt ended, when it was not `close()`: what to tell the listeners and how long to wait. */
interface Failure {
  error?: SseClientError;
  /** The stream is over: no retry. */
  stop?: boolean;
  /** The `Retry-After` the server asked for, ms. */
  after?: number;
}

/**
 * Opens a Server-Sent Events stream with `fetch`, so that it can send headers (a bearer
 * token), a method and a body, and types its events with the map the server's
 * `SseHub<Events>` uses. It connects at once and reconnects by itself with `Last-Event-ID`.
 *
 * @example
 * ```ts
 * const stream = createSseClient<ChatEvents>('/rooms/lobby/events', {
 *   headers: () => ({ authorization: `Bearer ${auth.token}` }),
 * });
 * stream.on('message', (message) => render(message));
 * ```
 * @param url The route's URL: absolute in Node (a relative one throws a `TypeError` there, unless `options.fetch` takes it).
 * @param options Headers, method, body, a custom fetch, a signal, reconnection delays.
 * @publicApi
 */
export function createSseClient<Events = Record<string, any>>(
  url: string | URL,
  options: SseClientOptions = {},
): SseClientStream<Events> {
  const where = String(url);
  // Checked once, here: fetch would refuse it on every attempt, and the client would retry forever.
  // A custom fetch may take what the global one does not (a path under its own base URL).
  if (!options.fetch) {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    try {
      new URL(where, base);
    } catch {
      throw new TypeError(
        `createSseClient: ${JSON.stringify(where)} is not a URL` +
          (base ? '.' : ': outside a page (in Node), give an absolute one, as http://localhost:3000/events.'),
      );
    }
  }
  const listeners = new Map<string, Set<SseClientListener<any>>>();
  const errorListeners = new Set<(error: SseClientError) => void>();
  let status: SseClientStatus = 'connecting';
  let lastEventId = options.lastEventId;
  let serverRetry: number | undefined;
  let request: AbortController | undefined;
  let wake: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Set on the first event of an attempt: that attempt counts as a success (back-off resets).
  let received = false;

  // A listener that throws is reported, never allowed to stop the stream or the other listeners.
  const call = (set: Set<(...args: any[]) => void> | undefined, ...args: unknown[]) => {
    for (const listener of [...(set ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        const { reportError } = globalThis as { reportError?: (error: unknown) => void };
        // eslint-disable-next-line no-console
        (reportError ?? console.error)(error);
      }
    }
  };

  const parser = createParser({
    onRetry: (ms) => (serverRetry = ms),
    onEvent: ({ event: named, id, data }) => {
      received = true;
      // As EventSource: no `event:` (or an empty one) is a 'message'.
      const event = named || 'message';
      // An empty `id:` clears it: the next reconnect sends no Last-Event-ID.
      if (id !== undefined) lastEventId = id || undefined;
      let value: unknown = data;
      try {
        value = JSON.parse(data);
      } catch {
        // The server sends a string's data as it is: the raw text is the value.
      }
      const meta: SseEventMeta = { event, id, data };
      call(listeners.get(event), value, meta);
    },
  });

  // A function, so that TypeScript does not narrow `status` across the awaits that change it.
  const isClosed = () => status === 'closed';

  const close = () => {
    status = 'closed';
    request?.abort();
    clearTimeout(timer);
    wake?.();
    options.signal?.removeEventListener('abort', close);
  };

  /** One request, read to its end: `undefined` when the server ended the body (reconnect as usual). */
  const attempt = async (signal: AbortSignal): Promise<Failure | undefined> => {
    let response: Response;
    try {
      const given = options.headers;
      const headers = new Headers(typeof given === 'function' ? await given() : given);
      headers.set('accept', 'text/event-stream');
      if (lastEventId) headers.set('last-event-id', asHeaderValue(lastEventId));
      // Looked up now, not at import: a test or a polyfill may install it later.
      const fetcher = options.fetch ?? globalThis.fetch;
      response = await fetcher(url, {
        method: options.method ?? 'GET',
        body: options.body,
        credentials: options.credentials,
        headers,
        signal,
      });
    } catch (cause) {
      return {
        error: new SseClientError(`Could not connect to ${where}: ${String(cause)}`, true, undefined, cause),
      };
    }
    const code = response.status;
    const type = response.headers.get('content-type') ?? '';
    // Closed while the request was on its way (a custom fetch may not heed the signal): read nothing.
    if (isClosed()) {
      void response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    if (code === 200 && /^text\/event-stream\s*(;|$)/i.test(type) && response.body) {
      status = 'open';
      parser.reset();
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return undefined;
          if (isClosed()) {
            void reader.cancel().catch(() => undefined);
            return undefined;
          }
          parser.feed(decoder.decode(value, { stream: true }));
        }
      } catch (cause) {
        return {
          error: new SseClientError(
            `The stream from ${where} broke: ${String(cause)}`,
            true,
            undefined,
            cause,
          ),
        };
      }
    }
    // Not a stream: free the connection.
    void response.body?.cancel().catch(() => undefined);
    if (code === 429 || code >= 500) {
      const seconds = Number(response.headers.get('retry-after'));
      return {
        after: (code === 429 || code === 503) && seconds > 0 ? seconds * 1000 : 0,
        error: new SseClientError(`${where} answered ${code}; retrying.`, true, code),
      };
    }
    const why =
      code === 204
        ? 'answered 204 No Content: the server has nothing to stream to this client'
        : code === 200
          ? `answered 200 with Content-Type "${type}", not text/event-stream: is this an SSE route?`
          : `answered ${code}${code === 401 || code === 403 ? ': check the credentials (headers, cookies)' : ''}`;
    return { stop: true, error: new SseClientError(`${where} ${why}. The stream is closed.`, false, code) };
  };

  const run = async () => {
    let failures = 0;
    while (!isClosed()) {
      received = false;
      request = new AbortController();
      const failure = await attempt(request.signal);
      if (isClosed()) return;
      status = 'connecting';
      if (failure?.stop) close();
      if (failure?.error) call(errorListeners, failure.error);
      if (isClosed()) return;
      if (received) failures = 0;
      const base = serverRetry ?? options.retry ?? 1000;
      const delay = reconnectDelay(base, failures, options.maxRetryDelay ?? 30_000, Math.random());
      if (!received) failures++;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, Math.min(Math.max(delay, failure?.after ?? 0), MAX_TIMEOUT));
      });
    }
  };

  if (options.signal?.aborted) status = 'closed';
  else {
    options.signal?.addEventListener('abort', close);
    void run();
  }

  return {
    get status() {
      return status;
    },
    get lastEventId() {
      return lastEventId;
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set.add(listener));
      return () => void set.delete(listener);
    },
    onError(listener) {
      errorListeners.add(listener);
      return () => void errorListeners.delete(listener);
    },
    close,
  };
}

/**
 * An id as a header can carry it: a header value is bytes, and `fetch` refuses a character
 * past U+00FF. Such an id goes as its UTF-8 bytes, as `EventSource` sends it.
 */
function asHeaderValue(id: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\xff]*$/.test(id)) return id;
  return String.fromCharCode(...new TextEncoder().encode(id));
}
