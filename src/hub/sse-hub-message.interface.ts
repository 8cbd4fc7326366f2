import { type SsePresenceEntry } from './sse-presence.interface';

/**
 * What a transport carries between hubs. `value` is what the caller gave (JSON-safe
 * when the transport leaves the process); each hub encodes it once for its clients. A
 * broadcast gets its `id` from the transport, which orders it and keeps it for replay.
 * `publishedAt` (ms since the epoch, on the publishing instance) gives the delivery lag.
 *
 * @publicApi
 */
export type SseHubMessage =
  | {
      type: 'broadcast';
      id?: string;
      value: unknown;
      channels?: string[];
      except?: string[];
      idempotencyKey?: string;
      publishedAt?: number;
    }
  | { type: 'send'; clientId: string; value: unknown; publishedAt?: number }
  | { type: 'close'; clientId: string }
  /** Puts the client into `channels`, or out of them, on whichever instance holds its stream. */
  | { type: 'join'; clientId: string; channels: string[] }
  | { type: 'leave'; clientId: string; channels: string[] }
  /**
   * From a transport to its own hub only: this instance may have missed messages (its
   * reader fell behind the history's trimming), so every client on it gets a resync.
   */
  | { type: 'resync'; reason: string }
  /**
   * From a transport to its own hub only: streams with `presenceEvents` whose instance
   * died without a goodbye (`departed`, with the channels they were in: this instance
   * noticed it, and no other did), or this instance's own streams after it was taken for
   * dead (`returned`). The hub sends their channels a `leave`, or a `join`, for each.
   */
  | { type: 'departed'; clients: SsePresenceEntry[] }
  | { type: 'returned'; clients: SsePresenceEntry[] };

/** A broadcast as the transport delivers it back: with its id. */
export type SseBroadcastMessage = Extract<SseHubMessage, { type: 'broadcast' }>;
