import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { SseTestStream } from './sse-test-stream';

/** How `openSseStream` makes its request, and how long its stream's waits may take. @publicApi */
export interface OpenSseStreamOptions {
  /** Extra request headers, e.g. `Last-Event-ID` or `Authorization`. */
  headers?: Record<string, string>;
  /** GET by default. */
  method?: string;
  /** A request body; an object is sent as JSON. */
  body?: string | object;
  /** Milliseconds any wait may take before it rejects (default 5000). */
  timeout?: number;
}

/** The base URL of an app, listening on a free loopback port if it was not listening yet. */
export async function baseUrlOf(target: INestApplication | string): Promise<string> {
  if (typeof target === 'string') return target.replace(/\/$/, '');
  const server = target.getHttpServer();
  if (!server.listening) await target.listen(0, '127.0.0.1');
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/**
 * Opens an event stream on an app made with `Test.createTestingModule(...)` (started on
 * a loopback port if needed) or on a URL, and resolves once the response headers have
 * arrived, whatever the status: check `stream.status`.
 *
 * @example
 * ```ts
 * const stream = await openSseStream(app, '/rooms/a/events');
 * expect(await stream.nextEvent()).toMatchObject({ event: 'welcome' });
 * stream.close();
 * ```
 * @publicApi
 */
export async function openSseStream(
  target: INestApplication | string,
  path = '',
  options: OpenSseStreamOptions = {},
): Promise<SseTestStream> {
  const url = new URL(path, `${await baseUrlOf(target)}/`);
  const timeout = options.timeout ?? 5_000;
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (body !== undefined && typeof options.body !== 'string') headers['content-type'] ??= 'application/json';
  // Node does not frame the body of a GET by itself: without a length it would read as the next request.
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));

  return new Promise((resolve, reject) => {
    // A connection of its own, so that close() can reset it without touching others.
    const req = httpRequest(url, { method: options.method ?? 'GET', headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`No response headers from ${url} within ${timeout} ms.`));
    }, timeout);
    req.once('response', (response) => {
      clearTimeout(timer);
      resolve(new SseTestStream(response, timeout));
    });
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}
