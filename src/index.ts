export * from './wire';
export { SseClient, SseClosedError } from './connection';
export type { SseCloseReason, SseReplayStatus, SseSendResult } from './connection';
export * from './hub';
export * from './nest';
