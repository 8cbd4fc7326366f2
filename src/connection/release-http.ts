import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

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
    if (!listeners) continue;
    for (const listener of typeof listeners === 'function' ? [listeners] : listeners)
      if (!known.has(((listener as any).listener ?? listener).name)) return false;
  }
  return true;
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
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const common = require('node:_http_common') as { freeParser?: FreeParser };
      freeParser = typeof common.freeParser === 'function' ? common.freeParser : null;
    } catch {
      freeParser = null;
    }
  }
  return freeParser;
}

/**
 * Takes the socket of a started HTTP/1.1 event stream out of Node's HTTP server, as Node
 * itself does on `upgrade`: its parser goes back to the pool (and off the server's list
 * of connections), its per-connection listeners and state go, and the response lets go of
 * the socket. The request, the response and the framework's objects around them are then
 * garbage unless the app holds them: ~6 KiB of memory per stream on Express, ~4 on Fastify
 * (docs/benchmark.md). The stream owns the socket from then on: it must listen for its
 * close and errors itself, end it, and let the app's shutdown destroy it (`server.close()`
 * no longer knows it). Whatever the client sends afterwards is no request Node will parse
 * (a request pipelined behind an event stream could never be answered anyway).
 *
 * Returns `false`, and changes nothing, unless the socket is exactly as Node's server left
 * it for `req`: its parser is on `req` (nothing was pipelined behind it), every listener
 * Node installs is found, and nothing of the app's listens to `req` or `res`.
 */
export function releaseHttp(req: IncomingMessage, res: ServerResponse, socket: Socket): boolean {
  const free = nodeFreeParser();
  const parser = (socket as any).parser;
  if (
    !free ||
    !parser ||
    parser.incoming !== req ||
    (socket as any)._httpMessage !== res ||
    typeof (res as any).detachSocket !== 'function' ||
    socket.destroyed ||
    !onlyKnownListeners(req, NONE) ||
    !onlyKnownListeners(res, KNOWN_RESPONSE_LISTENERS)
  )
    return false;
  for (let i = 0; i < REQUIRED_LISTENERS; i++) {
    const [event, name] = NODE_LISTENERS[i];
    if (!findListener(socket, event, name)) return false;
  }
  for (const [event, name] of NODE_LISTENERS) {
    const listener = findListener(socket, event, name);
    if (listener) socket.removeListener(event, listener);
  }
  free(parser, req, socket);
  (res as any).detachSocket(socket);
  for (const method of OWN_METHODS)
    if (Object.prototype.hasOwnProperty.call(socket, method))
      (socket as any)[method] = Socket.prototype[method];
  // server.timeout's idle timer had Node's listener: an event stream has its keepalives.
  if ((socket as any).timeout) socket.setTimeout(0);
  return true;
}
