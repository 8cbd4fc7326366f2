import type { ServerResponse } from 'node:http';
import { Socket } from 'node:net';

/**
 * Drops a connection with whatever it has not sent. A plain TCP socket is reset (RST), so
 * that the kernel lets go of its unsent bytes at once; TLS and Unix-socket handles cannot
 * be reset (`resetAndDestroy()` throws for them), so they are destroyed. A response that
 * has no socket of its own (HTTP/2, or queued behind a pipelined one) is destroyed: an
 * HTTP/2 stream then gets an RST_STREAM and its session lives on.
 */
export function abortConnection(res: ServerResponse, sink: unknown): void {
  if (sink instanceof Socket) {
    if (sink.destroyed) return;
    try {
      sink.resetAndDestroy();
    } catch {
      sink.destroy();
    }
    return;
  }
  if (!res.destroyed) res.destroy();
}
