import { type SseClient, type SseCloseReason } from '../connection';
import { type SseMessageHandler } from './sse-message-handler.type';

/** What the hub needs of a stream's route, resolved once per route. */
export interface StreamRoute {
  /** Channels joined on setup: a name, a list, or a function of the request (maybe async) giving either. */
  readonly channels: unknown;
  /** What `SseHub.presence()` lists for the stream. */
  readonly presence: ((client: SseClient) => unknown) | undefined;
  /** Whether its channels hear of its joins and leaves. */
  readonly presenceEvents: boolean;
  /** The most missed events it replays (`Infinity`: no limit), or `false`: it does not replay. */
  readonly replayLimit: number | false;
  /** The event that says a replay was a gap. */
  readonly resyncEvent: string;
}

/** What the route's handler and gateway bring to the setup of a stream. */
export interface StreamHooks {
  /** What the handler returned (awaited if a promise). */
  readonly result: unknown;
  readonly onMessage?: SseMessageHandler;
  /** Runs last in the setup; what it returns is sent first. */
  readonly onJoin?: () => unknown;
  readonly onClose?: (reason: SseCloseReason) => void;
}

/** A stream whose setup is done: what goes out first (a resync after a gap), and the handler's and `onJoin`'s values. */
export interface OpenedStream {
  readonly head: string;
  readonly result: unknown;
  readonly joined: unknown;
}

/** A stream attached to the hub, for its route to finish setting it up. */
export interface AttachedStream {
  /**
   * Registers it, joins its channels, records its presence, reads its replay, runs `onJoin`,
   * then lets it have what the hub held for it meanwhile. `undefined`: it stopped on the
   * way (the client went, or the app began to shut down). A hook's throw rejects.
   */
  open(hooks: StreamHooks): Promise<OpenedStream | undefined>;
}
