export { openSseStream, type OpenSseStreamOptions } from './open-sse-stream';
export type { SseTestEvent, SseTestMessage } from './sse-test-message.type';
export { SseTestStream } from './sse-test-stream';
