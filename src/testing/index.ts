export * from './open-sse-stream';
export * from './sse-test-message.type';
export * from './sse-test-stream';
