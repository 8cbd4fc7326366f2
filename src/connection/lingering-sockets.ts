import type { Socket } from 'node:net';

/**
 * The sockets of an app's ended streams that still have bytes to send to a client that
 * reads slowly or not at all. Node's `server.close()` destroys such connections when they
 * are its own, but a stream's socket was taken out of Node's server (`releaseHttp`), so
 * the app's shutdown destroys them here instead: `app.close()` never waits on a reader.
 */
export class LingeringSockets {
  private readonly sockets = new Set<Socket>();

  /** Holds `socket` until it closes. */
  add(socket: Socket): void {
    if (socket.destroyed || this.sockets.has(socket)) return;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Destroys every socket still held, with what it has not sent. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  get size(): number {
    return this.sockets.size;
  }
}
