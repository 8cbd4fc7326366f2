import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { type ResponseOwner } from './response-binding';

/**
 * Node's listeners on a server connection's socket, by event and name: each is bound to
 * its connection, so its name is all that finds it. The first six are required: without
 * any of them (another Node version), the socket is not released.
 */
const NODE_LISTENERS: ReadonlyArray<readonly [event: string, name: string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
  ['error', 'socketOnError'],
  ['timeout', 'socketOnTimeout'],
  ['resume', 'onSocketResume'],
  ['pause', 'onSocketPause'],
];
const REQUIRED_LISTENERS = 6;

/**
 * What Node's server installs on each socket in place of the prototype's methods (they
 * unconsume its parser): pointed back at the prototype's, as Node does once the parser is
 * gone. Assigned, not deleted: a deleted property would turn the socket's properties into
 * a dictionary of its own, for the stream's life.
 */
const OWN_METHODS = ['on', 'addListener', 'prependListener', 'setEncoding'] as const;

type Listener = (...args: unknown[]) => void;

/**
 * What may listen to the response when its socket is released: Node's own bookkeeping,
 * Fastify's (its `onResponse` hooks and "request completed" log, which then do not run for
 * the stream, as for any hijacked reply) and the stream's. Anything else is the app's
 * (`req.on('close')`, a logger's `res.on('finish')`): those keep Node's objects, so that
 * they still hear the end.
 */
const KNOWN_RESPONSE_LISTENERS: ReadonlySet<string> = new Set([
  'bound resOnFinish',
  'onResFinished',
  'onResponseClose',
  'onResponseError',
]);
const NONE: ReadonlySet<string> = new Set();

/** Whether every listener of `emitter` is one of `known`, read without copying the lists. */
function onlyKnownListeners(emitter: object, known: ReadonlySet<string>): boolean {
  const events: Record<string, Listener | Listener[] | undefined> | undefined = (emitter as any)._events;
  for (const event in events) {
    const listeners = events[event];
    if (typeof listeners === 'function') {
      if (!isKnown(listeners, known)) return false;
    } else if (listeners) {
      for (const listener of listeners) if (!isKnown(listener, known)) return false;
    }
  }
  return true;
}

/** A `once()` listener is a wrapper holding the listener itself. */
function isKnown(listener: Listener, known: ReadonlySet<string>): boolean {
  return known.has(((listener as any).listener ?? listener).name);
}

/** `socket`'s listener of `event` named `name`, read without copying the listener list. */
function findListener(socket: Socket, event: string, name: string): Listener | undefined {
  const listeners: Listener | Listener[] | undefined = (socket as any)._events?.[event];
  if (typeof listeners === 'function') return listeners.name === name ? listeners : undefined;
  if (!listeners) return undefined;
  for (const listener of listeners) if (listener.name === name) return listener;
  return undefined;
}

type FreeParser = (parser: unknown, req: IncomingMessage | null, socket: Socket | null) => void;

let freeParser: FreeParser | null | undefined;

/** The function Node's own upgrade path frees a connection's parser with, if this Node has it. */
function nodeFreeParser(): FreeParser | null {
  if (freeParser === undefined) {
    try {
      // A require of its own: this module is also compiled as an ES module (NestJS 12).
      const common = createRequire(`${process.cwd()}/`)('node:_http_common') as { freeParser?: FreeParser };
      freeParser = typeof common.freeParser === 'function' ? common.freeParser : null;
    } catch {
      freeParser = null;
    }
  }
  return freeParser;
}

const OWNER = Symbol('nestjs-sse-hub:released-owner');
const DROPPED = Symbol('nestjs-sse-hub:dropped-bytes');

/**
 * Bytes a client may send after its request before its connection is dropped: room for a
 * few requests pipelined behind the stream (never served, as before), not for a flood
 * the server would read for nothing.
 */
const MAX_DROPPED_BYTES = 64 * 1024;

/**
 * The released sockets of each server, until they close. Node's `closeAllConnections()`
 * and `closeIdleConnections()` (which `server.close()` calls) only know the connections
 * that still have a parser, so each server's pair is wrapped, once, to deal with these as
 * Node would: all of them for the first, those whose stream has ended (a slow reader
 * still taking the rest) for the second.
 */
const releasedBy = new WeakMap<Server, Set<Socket>>();

function releasedSocketsOf(server: Server): Set<Socket> {
  let sockets = releasedBy.get(server);
  if (sockets) return sockets;
  const released = (sockets = new Set());
  releasedBy.set(server, released);
  const closeAll = server.closeAllConnections;
  const closeIdle = server.closeIdleConnections;
  server.closeAllConnections = function (this: Server): void {
    for (const socket of released) socket.destroy();
    closeAll.call(this);
  };
  server.closeIdleConnections = function (this: Server): void {
    for (const socket of released) if (socket.writableEnded) socket.destroy();
    closeIdle.call(this);
  };
  return released;
}

function onReleasedData(this: Socket, chunk: Buffer): void {
  // Nothing is parsed any more: what comes after the request is dropped, within a bound.
  const dropped = ((this as any)[DROPPED] ?? 0) + chunk.length;
  if (dropped > MAX_DROPPED_BYTES) this.destroy();
  else (this as any)[DROPPED] = dropped;
}

function onReleasedEnd(this: Socket): void {
  // The client hung up its side: as Node's server does (no half-open HTTP), the stream ends.
  this.destroy();
}

function onReleasedClose(this: Socket): void {
  releasedBy.get((this as any).server)?.delete(this);
  (this as any)[OWNER].end('client-disconnected');
}

function onReleasedError(): void {
  // A reset or a failed write: 'close' follows, and ends the stream.
}

function onReleasedTimeout(this: Socket): void {
  // server.timeout, as Node applies it: the app's 'timeout' listener decides, else the socket goes.
  if (!(this as any).server?.emit('timeout', this)) this.destroy();
}

/**
 * Takes the socket of a started HTTP/1.1 event stream out of Node's HTTP server, as Node
 * itself does on `upgrade`: its parser goes back to the pool (and off the server's list
 * of connections), its per-connection listeners and state go, and the response lets go of
 * the socket. The request, the response and the framework's objects around them are then
 * garbage unless the app holds them (docs/benchmark.md: most of what a stream cost).
 *
 * `owner` hears the socket close from then on. The socket is read, so that a hang-up or a
 * reset is seen at once; what the client sends after its request is no request Node will
 * parse (one pipelined behind an event stream could never be answered anyway): it is
 * dropped, and past `MAX_DROPPED_BYTES` so is the connection. `server.timeout`,
 * `server.close()` and `closeAllConnections()` still apply to it.
 *
 * Returns `false`, and changes nothing, unless the socket is exactly as Node's server left
 * it for `req`: the request has been read whole, the parser is on it (nothing pipelined
 * behind it was parsed), every listener Node installs is found, and nothing of the app's
 * listens to `req` or `res`.
 */
export function releaseHttp(
  req: IncomingMessage,
  res: ServerResponse,
  socket: Socket,
  owner: ResponseOwner,
): boolean {
  const free = nodeFreeParser();
  const parser = (socket as any).parser;
  const server: Server | undefined = (socket as any).server;
  if (
    !free ||
    !parser ||
    !server ||
    typeof server.closeAllConnections !== 'function' ||
    !req.complete ||
    parser.incoming !== req ||
    (socket as any)._httpMessage !== res ||
    typeof (res as any).detachSocket !== 'function' ||
    socket.destroyed ||
    !onlyKnownListeners(req, NONE) ||
    !onlyKnownListeners(res, KNOWN_RESPONSE_LISTENERS)
  )
    return false;
  // Found once (a bound function's name is built anew each time it is read), removed only if all are there.
  const found = NODE_LISTENERS.map(([event, name]) => findListener(socket, event, name));
  if (found.some((listener, i) => i < REQUIRED_LISTENERS && !listener)) return false;
  found.forEach((listener, i) => listener && socket.removeListener(NODE_LISTENERS[i][0], listener));
  free(parser, req, socket);
  (res as any).detachSocket(socket);
  for (const method of OWN_METHODS)
    if (Object.prototype.hasOwnProperty.call(socket, method))
      (socket as any)[method] = Socket.prototype[method];
  releasedSocketsOf(server).add(socket);
  (socket as any)[OWNER] = owner;
  socket.on('close', onReleasedClose);
  socket.on('error', onReleasedError);
  socket.on('end', onReleasedEnd);
  socket.on('timeout', onReleasedTimeout);
  socket.on('data', onReleasedData);
  socket.resume();
  return true;
}
