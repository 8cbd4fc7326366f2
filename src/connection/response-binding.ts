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
 * Express's response copies its hidden class, which is its own), and the stream a
 * released socket belongs to and the streams queued on a socket: listeners are shared
 * functions, not closures per stream.
 */
const owners = new WeakMap<ServerResponse, ResponseOwner>();
const OWNER = Symbol('nestjs-sse-hub:owner');
const QUEUED = Symbol('nestjs-sse-hub:queued');

function onResponseClose(this: ServerResponse): void {
  // 'close' fires as soon as the socket goes, not at the next write.
  owners.get(this)?.end('client-disconnected');
}

function onResponseError(this: ServerResponse): void {
  // A write racing a reset socket reports here; unhandled, it would crash the process.
  owners.get(this)?.end('error');
}

/** A released socket (see `releaseHttp`): what the client sends after its request is read and dropped. */
function onReleasedData(): void {}

function onReleasedEnd(this: Socket): void {
  // The client hung up its side: as Node's server does (no half-open HTTP), the stream ends.
  this.destroy();
}

function onReleasedClose(this: Socket): void {
  (this as any)[OWNER].end('client-disconnected');
}

function onReleasedError(): void {
  // A reset or a failed write: 'close' follows, and ends the stream.
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

/**
 * Ends `owner` when a socket taken out of Node's HTTP server (`releaseHttp`) closes, and
 * keeps reading it, so that a client's hang-up or reset is seen at once.
 */
export function bindSocket(owner: ResponseOwner, socket: Socket): void {
  (socket as any)[OWNER] = owner;
  socket.on('close', onReleasedClose);
  socket.on('error', onReleasedError);
  socket.on('end', onReleasedEnd);
  socket.on('data', onReleasedData);
  socket.resume();
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
