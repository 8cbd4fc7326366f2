import { type SseClient } from '../connection';
import { type SseHandlerCall } from './sse-handler-call.interface';

// What the interceptor, the handler's wrapper and @ConnectedClient() share about a request
// being set up, kept beside its request and response rather than on them: Express gives
// each request and response a hidden class of its own, and each property added to one
// copies that class (~1 KiB, twice per stream, measured).

/** The request's and the response's `SseClient`. */
const clients = new WeakMap<object, SseClient>();
/** What the handler returned, by response, until the interceptor takes it. */
const calls = new WeakMap<object, SseHandlerCall>();

export function setClientOf(request: object, response: object, client: SseClient): void {
  clients.set(request, client);
  clients.set(response, client);
}

/** The `SseClient` of a request or response of an `@SseRoute()`, if any. */
export function clientOf(requestOrResponse: object | undefined): SseClient | undefined {
  return requestOrResponse ? clients.get(requestOrResponse) : undefined;
}

export function recordHandlerCall(response: object, call: SseHandlerCall): void {
  calls.set(response, call);
}

/** What the handler returned (once): `undefined` when it did not run. */
export function takeHandlerCall(response: object): SseHandlerCall | undefined {
  const call = calls.get(response);
  calls.delete(response);
  return call;
}

/** The run signal of a resumable route's request, for `@SseRunSignal()`. */
const runSignals = new WeakMap<object, AbortSignal>();
/** Responses whose handler must not run: the request reads a run another request produces. */
const readersOnly = new WeakSet<object>();

export function setRunSignalOf(request: object, signal: AbortSignal): void {
  runSignals.set(request, signal);
}

export function runSignalOf(request: object | undefined): AbortSignal | undefined {
  return request ? runSignals.get(request) : undefined;
}

/** The handler of this response's route is not called: its request joins a run. */
export function skipHandlerOf(response: object): void {
  readersOnly.add(response);
}

export function skipsHandler(response: object): boolean {
  return readersOnly.has(response);
}
