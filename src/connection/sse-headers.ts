import type { OutgoingHttpHeaders } from 'node:http';

/**
 * The response headers of an event stream. `no-transform` keeps compression middleware
 * from buffering; `X-Accel-Buffering: no` does the same for nginx. `Connection` only
 * exists in HTTP/1.x (it is a protocol error in HTTP/2).
 */
export function sseHeaders(httpVersionMajor: number, extra?: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ...extra,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  };
  if (httpVersionMajor < 2) headers.connection = 'keep-alive';
  return headers;
}
