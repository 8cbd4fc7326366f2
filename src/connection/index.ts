export * from './read-last-event-id';
export * from './sse-client';
export * from './sse-close-reason.type';
export * from './sse-closed.error';
export * from './sse-headers';
export * from './sse-replay-status.type';
export * from './sse-send-result.type';
