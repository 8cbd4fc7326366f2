import { type SseBroadcastMessage } from './sse-hub-message.interface';

/** What a transport's history holds after an id: the messages, or a gap. */
export type SseHistoryResult = { status: 'complete'; messages: SseBroadcastMessage[] } | { status: 'gap' };
