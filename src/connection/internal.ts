// What the interceptor and the hub use of a client that users do not: not exported by any entry point.
export { streamOf } from './sse-client';
export { SseStream } from './sse-stream';
