import { type SseBroadcastMessage } from './sse-hub-message.interface';

/**
 * What `SseTransport.history()` gives for a client's `Last-Event-ID`: every broadcast
 * after it, or a gap (the id is too old, or unknown).
 *
 * @publicApi
 */
export type SseHistoryResult =
  | {
      /** Nothing missed is gone. */
      status: 'complete';
      /** The broadcasts after the id, oldest first (none when they went to `each`). */
      messages: SseBroadcastMessage[];
    }
  | {
      /** Some of what the client missed is gone: it gets a `resync`. */
      status: 'gap';
    };
