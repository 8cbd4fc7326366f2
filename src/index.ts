export * from './wire';
export { SseClient, SseClosedError } from './connection';
export type { SseCloseReason, SseSendResult } from './connection';
export * from './hub';
export * from './nest';
