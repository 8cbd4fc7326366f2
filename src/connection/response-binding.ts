import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type SseCloseReason } from './sse-close-reason.type';

/** What a response's listeners tell: the stream that owns it must end. */
export interface ResponseOwner {
  readonly closed: boolean;
  end(reason: SseCloseReason): void;
}

/**
 * The stream a response belongs to, beside it rather than on it (a property added to
 * Express's response copies its hidden class, which is its own), and the streams queued
 * on a socket: listeners are shared functions, not closures per stream.
 */
const owners = new WeakMap<ServerResponse, ResponseOwner>();
const QUEUED = Symbol('nestjs-sse-hub:queued');

function onResponseClose(this: ServerResponse): void {
  // 'close' fires as soon as the socket goes, not at the next write.
  owners.get(this)?.end('client-disconnected');
}

function onResponseError(this: ServerResponse): void {
  // A write racing a reset socket reports here; unhandled, it would crash the process.
  owners.get(this)?.end('error');
}

function onQueuedSocketClose(this: Socket): void {
  const queued: Set<ResponseOwner> | undefined = (this as any)[QUEUED];
  (this as any)[QUEUED] = undefined;
  if (queued) for (const owner of queued) owner.end('client-disconnected');
}

/**
 * Ends `owner` when its response closes or fails. A response queued behind another one
 * on a pipelined HTTP/1.1 connection has no socket yet, and Node never tells it that the
 * connection went away: it hears it from the request's socket instead.
 */
export function bindResponse(owner: ResponseOwner, req: IncomingMessage, res: ServerResponse): void {
  owners.set(res, owner);
  res.on('close', onResponseClose);
  res.on('error', onResponseError);
  const socket = req.socket as Socket | null;
  if (res.socket || !socket || req.httpVersionMajor !== 1) return;
  let queued: Set<ResponseOwner> | undefined = (socket as any)[QUEUED];
  if (!queued) {
    (socket as any)[QUEUED] = queued = new Set();
    socket.once('close', onQueuedSocketClose);
  }
  queued.add(owner);
}

/** Forgets `owner` on its request's socket, which may outlive it (keep-alive). */
export function unbindResponse(owner: ResponseOwner, req: IncomingMessage): void {
  const socket = req.socket as Socket | null;
  const queued: Set<ResponseOwner> | undefined = socket && (socket as any)[QUEUED];
  if (!queued?.delete(owner) || queued.size > 0) return;
  (socket as any)[QUEUED] = undefined;
  socket!.off('close', onQueuedSocketClose);
}

/**
 * Whether `res` waits on its connection behind an event stream that has not ended: a
 * pipelined request that can never be answered, since an event stream does not end by
 * itself. (`_httpMessage` is the response Node is writing on that socket.)
 */
export function isQueuedBehindStream(req: IncomingMessage, res: ServerResponse): boolean {
  const current = (req.socket as any)?._httpMessage as ServerResponse | undefined;
  if (!current || current === res) return false;
  const owner = owners.get(current);
  return owner !== undefined && !owner.closed;
}
