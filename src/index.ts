export * from './wire';
export { DEFAULT_MAX_PENDING_BYTES, SseClient, SseClosedError, SseEventTooLargeError } from './connection';
export type { SlowConsumerPolicy, SseCloseReason, SseReplayStatus, SseSendResult } from './connection';
export * from './hub';
export * from './nest';
