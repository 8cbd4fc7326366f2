import type { Socket } from 'node:net';

/**
 * Drops a socket at once with whatever it has not sent: a TCP reset (RST) where Node can
 * send one, so that the kernel lets go of the unsent bytes, else a plain destroy. Node
 * cannot reset TLS or Unix-socket handles (`resetAndDestroy()` throws), nor a TCP socket
 * whose `end()` has begun: libuv refuses that reset (EINVAL) and Node then never closes
 * the handle, so the process spins at exit instead of ending. Such a socket has said all
 * it will; destroying it is enough.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
