import { type SseBroadcastMessage } from './sse-hub-message.interface';

/** What a transport's history holds after an id: the messages, or a gap. */
export type SseHistoryResult = { status: 'complete'; messages: SseBroadcastMessage[] } | { status: 'gap' };

/** How much history a replay may use. */
export interface SseHistoryOptions {
  /** More broadcasts than this after the id make a gap (default: no limit). */
  limit?: number;
}
