import type { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { resetSocket } from './reset-socket';

/**
 * Drops a connection with whatever it has not sent. A plain TCP socket is reset (RST), so
 * that the kernel lets go of its unsent bytes at once; other sockets are destroyed
 * (`resetSocket`). A response that
 * has no socket of its own (HTTP/2, or queued behind a pipelined one) is destroyed: an
 * HTTP/2 stream then gets an RST_STREAM and its session lives on.
 */
export function abortConnection(res: ServerResponse | undefined, sink: unknown): void {
  if (sink instanceof Socket) return resetSocket(sink);
  if (res && !res.destroyed) res.destroy();
}
