/// <reference lib="dom" />
// The page of test/e2e/client-browser.e2e-spec.ts: browser code, bundled with esbuild
// (support/browser-bundle.ts) as an app's bundler would, around `nestjs-sse-hub/client`.
// It keeps what its stream gets on `window.clientPage`, for the test to read.
import { createSseClient, type SseClientStream } from 'nestjs-sse-hub/client';

/** The events of the test app's routes: the page and the app share this map. */
export interface InboxEvents {
  /** `onJoin`'s greeting: the stream is registered, with its user. */
  welcome: { user: string };
  /** A broadcast to users. */
  note: { text: string };
  /** One event of a resumable run. */
  token: { text: string };
}

/** One event as the page got it. */
export interface SeenEvent {
  event: string;
  id: string | undefined;
  data: unknown;
}

/** What the page's `onError` listener was told. */
export interface SeenError {
  name: string;
  status: number | undefined;
  willRetry: boolean;
  message: string;
}

/** How the test asks the page to open its stream. */
export interface OpenInit {
  /** The bearer token: read again for each attempt (the test may change it). */
  token: string;
  method?: string;
  /** JSON sent on every attempt (then with Content-Type: application/json). */
  body?: string;
}

/** What the page puts on `window`. */
export interface ClientPage {
  /** The token the next attempt sends. */
  token: string;
  seen: SeenEvent[];
  errors: SeenError[];
  stream?: SseClientStream<InboxEvents>;
  open(path: string, init: OpenInit): void;
}

const page: ClientPage = {
  token: '',
  seen: [],
  errors: [],
  open(path, { token, method, body }) {
    page.token = token;
    const stream = createSseClient<InboxEvents>(path, {
      // Called per attempt: a reconnect sends the token as it is then.
      headers: () => ({
        authorization: `Bearer ${page.token}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      }),
      method,
      body,
    });
    const record = (event: string) => (data: unknown, meta: { id: string | undefined }) =>
      page.seen.push({ event, id: meta.id, data });
    stream.on('welcome', record('welcome'));
    stream.on('note', record('note'));
    stream.on('token', record('token'));
    stream.on('resync', record('resync'));
    stream.onError((error) =>
      page.errors.push({
        name: error.name,
        status: error.status,
        willRetry: error.willRetry,
        message: error.message,
      }),
    );
    page.stream = stream;
  },
};

(window as unknown as { clientPage: ClientPage }).clientPage = page;
