/**
 * Test helpers: `openSseStream` opens a stream on a Nest app and reads it with a real
 * parser, as `SseTestStream`.
 *
 * @module nestjs-sse-hub/testing
 */
export { openSseStream, type OpenSseStreamOptions } from './open-sse-stream';
export type { SseTestEvent, SseTestMessage } from './sse-test-message.type';
export { SseTestStream } from './sse-test-stream';
