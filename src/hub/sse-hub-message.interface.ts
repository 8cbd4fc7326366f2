import { type SsePresenceEntry } from './sse-presence.interface';
import { type SseRunState } from './sse-run-status.interface';

/**
 * A broadcast, as a hub publishes it, as the transport delivers it back with its id, and
 * as its history hands it to a replay.
 *
 * @publicApi
 */
export type SseBroadcastMessage = {
  /** `SseHub.broadcast()`: to every client, or to those of `channels`. */
  type: 'broadcast';
  /** Given by the transport, which orders broadcasts: absent when published, set when delivered. */
  id?: string;
  /** What the caller broadcast. */
  value: unknown;
  /** Only the clients of these channels; every client without it. */
  channels?: string[];
  /** Only the streams of these users (`SseClient.user`); every stream's without it. */
  users?: string[];
  /** Client ids it skips. */
  except?: string[];
  /** A key the transport publishes once, however often a retry brings it. */
  idempotencyKey?: string;
  /** When it was published (ms since the epoch). */
  publishedAt?: number;
};

/**
 * What a transport carries between hubs. `value` is what the caller gave (JSON-safe
 * when the transport leaves the process); each hub encodes it once for its clients. A
 * broadcast gets its `id` from the transport, which orders it and keeps it for replay.
 * `publishedAt` (ms since the epoch, on the publishing instance) gives the delivery lag.
 *
 * @publicApi
 */
export type SseHubMessage =
  | SseBroadcastMessage
  | {
      /** `SseHub.sendTo()`: to one client, wherever it is; no id, not kept. */
      type: 'send';
      /** The client it goes to. */
      clientId: string;
      /** What the caller sent. */
      value: unknown;
      /** When it was published (ms since the epoch). */
      publishedAt?: number;
    }
  | {
      /** `SseHub.close()`: ends the client's stream, wherever it is. */
      type: 'close';
      /** The client whose stream ends. */
      clientId: string;
    }
  | {
      /** `SseHub.closeUser()`: ends every stream of the user, wherever it is. */
      type: 'close-user';
      /** The user whose streams end. */
      user: string;
    }
  | {
      /** `SseHub.join()`: puts the client into `channels`, on whichever instance holds its stream. */
      type: 'join';
      /** The client that joins. */
      clientId: string;
      /** The channels it joins. */
      channels: string[];
    }
  | {
      /** `SseHub.leave()`: takes the client out of `channels`, wherever it is. */
      type: 'leave';
      /** The client that leaves. */
      clientId: string;
      /** The channels it leaves. */
      channels: string[];
    }
  /**
   * A resumable run's progress, from the instance that produces it (or ends it) to every
   * hub: its new events, kept in the run store too, and its end. A hub whose clients read
   * the run delivers them, or reads the store for what it missed.
   */
  | {
      /** Events of a run, or its end. */
      type: 'run';
      /** The run's key. */
      key: string;
      /** Which run of the key (`SseRunRecord.run`). */
      run: string;
      /** The number of `events[0]` (of the next event, when there are none). */
      from: number;
      /** Encoded events (`text/event-stream` without their `id:` line), oldest first. */
      events: string[];
      /** Set when the run ended, after these events. */
      end?: Exclude<SseRunState, 'running'>;
    }
  /**
   * From a transport to its own hub only: this instance may have missed messages (its
   * reader fell behind the history's trimming), so every client on it gets a resync.
   */
  | {
      /** Every client on this instance gets a `resync`. */
      type: 'resync';
      /** Why, for the log line. */
      reason: string;
    }
  /**
   * From a transport to its own hub only: streams with `presenceEvents` whose instance
   * died without a goodbye (`departed`, with the channels they were in: this instance
   * noticed it, and no other did), or this instance's own streams after it was taken for
   * dead (`returned`). The hub sends their channels a `leave`, or a `join`, for each.
   */
  | {
      /** Streams of an instance that died: their channels hear a `leave`. */
      type: 'departed';
      /** Those streams, with the channels they were in. */
      clients: SsePresenceEntry[];
    }
  | {
      /** This instance's streams, back after it was taken for dead: their channels hear a `join`. */
      type: 'returned';
      /** Those streams. */
      clients: SsePresenceEntry[];
    };
