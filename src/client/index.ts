/**
 * A Server-Sent Events client for browsers and Node ≥ 20, built on `fetch`: it sends
 * headers (a bearer token), reconnects with `Last-Event-ID`, says why it stopped, and types
 * its events with the same map as the server's `SseHub<Events>`. No Nest, no rxjs: only
 * `eventsource-parser`.
 *
 * @module nestjs-sse-hub/client
 */
export { createSseClient } from './create-sse-client.js';
export { SseClientError } from './sse-client-error.js';
export type { SseClientOptions } from './sse-client-options.interface.js';
export type { SseClientStatus } from './sse-client-status.type.js';
export type { SseClientEvents, SseClientListener, SseClientStream } from './sse-client-stream.interface.js';
export type { SseEventMeta } from './sse-event-meta.interface.js';
export type { SseResyncData } from './sse-resync-data.interface.js';
