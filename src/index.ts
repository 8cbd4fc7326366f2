export * from './wire';
export {
  DEFAULT_MAX_PENDING_BYTES,
  defaultMaxTotalPendingBytes,
  SseChannelNameError,
  SseClient,
  SseClosedError,
  SsePendingBudget,
} from './connection';
export type { SlowConsumerPolicy, SseCloseReason, SseReplayStatus, SseSendResult } from './connection';
export * from './hub';
export * from './nest';
