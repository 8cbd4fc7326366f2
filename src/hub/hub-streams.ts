import { Inject, Injectable, Optional } from '@nestjs/common';
import { type SseChannelListener, type SseClient, SsePendingBudget, type StreamTally } from '../connection';
import { streamOf } from '../connection/internal';
import { encodeResync } from '../wire';
import { broadcastMessage } from './broadcast-message';
import { channelList } from './channel-list';
import { type ClientDelivery, deliverTo, deliverToAll } from './client-delivery';
import { ClientRegistry, type HubEntry } from './client-registry';
import { HubMessageEncoder, type DeliveredMessage } from './hub-message-encoder';
import { HubMetrics } from './hub-metrics';
import { InMemoryPresenceStore } from './in-memory.presence-store';
import { InMemoryTransport } from './in-memory.transport';
import { isThenable } from './is-thenable';
import { HubRuns } from './hub-runs';
import { InMemoryRunStore } from './in-memory.run-store';
import { ReplayGate } from './replay-gate';
import { SerialDelivery } from './serial-delivery';
import { type SseBroadcastOptions } from './sse-broadcast-options.interface';
import { type SseBroadcastMessage, type SseHubMessage } from './sse-hub-message.interface';
import { SSE_HUB_OPTIONS, type SseHubOptions } from './sse-hub-options.interface';
import { type SseRejectReason } from './sse-hub-stats.interface';
import { type SseMessageHandler } from './sse-message-handler.type';
import { type SsePresenceChange, type SsePresenceEntry } from './sse-presence.interface';
import { SsePresenceInfoError } from './sse-presence-info.error';
import { type SsePresenceStore } from './sse-presence-store.interface';
import { type SseHistoryResult } from './sse-replay.type';
import { SSE_TRANSPORT, type SseTransport } from './sse-transport.interface';
import { type SseTransportState } from './sse-transport-state.interface';
import { StreamReplay } from './stream-replay';
import {
  type AttachedStream,
  type OpenedStream,
  type StreamHooks,
  type StreamRoute,
} from './attached-stream.interface';
import { ThrottledLogger } from './throttled-logger';
import { UserClosures } from './user-closures';

function presenceOf(entry: HubEntry): SsePresenceEntry {
  const { id, channels, user } = entry.client;
  return { id, channels: [...channels], info: entry.info ?? null, user };
}

/** A stream that came or changed, for a transport that keeps presence (which needs to know whether it announces). */
function presenceSet(entry: HubEntry, left: string[]): SsePresenceChange {
  return { type: 'set', entry: presenceOf(entry), left, announces: entry.announces === true };
}

/**
 * This instance's streams as the hub holds them: the protocol by which a route attaches
 * one (`attach`, once per stream, then `open`), and the delivery of the transport's
 * messages to them. Internal: `SseHub` is its public face, the interceptor its one caller.
 */
@Injectable()
export class HubStreams implements SseChannelListener {
  readonly logger = new ThrottledLogger('SseHub');
  readonly registry = new ClientRegistry();
  readonly transport: SseTransport;
  /** Presence for the application: the transport's store, or this instance's registry. */
  readonly presenceStore: SsePresenceStore;
  /** Whether changes must be recorded: only a transport's store keeps a copy of them. */
  private readonly recordsPresence: boolean;
  readonly maxEventBytes: number;
  /** Counts and metrics, fed by the hub, its streams and the routes. */
  readonly metrics = new HubMetrics(() => this.transportState(), this.logger);
  private readonly delivery: ClientDelivery = {
    encoder: new HubMessageEncoder(),
    logger: this.logger,
    tooLarge: 0,
  };
  private readonly serial = new SerialDelivery((error) =>
    this.logger.error(
      'delivery',
      `A hub message could not be delivered (a bug: please report it): ${(error as Error)?.message ?? String(error)}`,
      (error as Error)?.stack,
    ),
  );
  private readonly replays = new ReplayGate();
  private readonly userClosures = new UserClosures();
  /** The resumable runs this instance produces and its clients read. */
  readonly runs: HubRuns;
  private shuttingDown = false;

  constructor(
    @Optional() @Inject(SSE_TRANSPORT) transport?: SseTransport,
    @Optional() @Inject(SSE_HUB_OPTIONS) readonly options: SseHubOptions = {},
    @Optional() readonly pendingBudget?: SsePendingBudget,
  ) {
    this.transport = transport ?? new InMemoryTransport();
    this.recordsPresence = this.transport.presenceStore !== undefined;
    this.presenceStore = this.transport.presenceStore ?? new InMemoryPresenceStore(this.registry);
    this.maxEventBytes = options.maxEventBytes ?? Infinity;
    this.runs = new HubRuns(
      this.transport.runStore ?? new InMemoryRunStore(),
      (message) => this.transport.publish(message),
      this.logger,
      this.metrics,
      this.transport instanceof InMemoryTransport,
    );
  }

  /** At start-up: metrics (once the app's OpenTelemetry SDK is registered), then the transport's messages. */
  async start(): Promise<void> {
    await this.metrics.start(this.options.metrics);
    const deliver = (message: SseHubMessage) => this.serial.run(() => this.dispatch(message));
    await this.transport.subscribe(deliver);
    this.presenceStore.start?.(deliver);
  }

  /** Ends every stream (reason `shutdown`), refuses new ones, and closes the transport. */
  async shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const entry of Array.from(this.registry.all())) entry.stream.end('shutdown');
    // This instance's runs end as failed, told on the transport before it closes.
    await this.runs.shutDown();
    // Its goodbye (presence) goes out on the transport's connection, before that closes.
    await this.presenceStore.stop?.();
    await this.transport.close?.();
  }

  stop(): void {
    this.metrics.stop();
  }

  /** The counts of a route's streams, for its clients. */
  tallyOf(route: string): StreamTally {
    return this.metrics.route(route);
  }

  /** A stream refused before it opened, counted. */
  refused(reason: SseRejectReason): void {
    this.metrics.streamRejected(reason);
  }

  /**
   * Attaches a new stream of `route` (`label`: `METHOD path`, for errors), once its handler
   * is about to run: `undefined` (and the stream ended, for the client to come back) when
   * the app is shutting down. `startedAt`: `performance.now()` when its request came in,
   * before its user was known (a `closeUser` since then ends it too).
   */
  attach(
    client: SseClient,
    route: StreamRoute,
    label: string,
    startedAt = performance.now(),
  ): AttachedStream | undefined {
    if (this.shuttingDown) {
      this.metrics.streamRejected('shutting_down');
      streamOf(client).end('shutdown');
      return undefined;
    }
    return { open: (hooks) => this.open(client, route, label, hooks, startedAt) };
  }

  private async open(
    client: SseClient,
    route: StreamRoute,
    label: string,
    hooks: StreamHooks,
    startedAt: number,
  ): Promise<OpenedStream | undefined> {
    // In the hub from here on, so that onJoin counts it and can broadcast to it (what the
    // hub sends is queued until the stream starts); before onClose is listened to, so that
    // onClose sees the hub without it.
    const entry = this.register(client, route, hooks.onMessage);
    if (hooks.onClose) client.onClose(hooks.onClose);
    // Its user was closed while it was being set up, before it could be found: it ends as the others did.
    if (this.userClosures.closedSince(client.user, startedAt)) client.close();
    let result: unknown;
    let joined: unknown;
    const steps: Array<() => unknown> = [
      () =>
        isThenable(hooks.result)
          ? Promise.resolve(hooks.result).then((value) => (result = value))
          : (result = hooks.result),
      () => this.joinChannels(client, route.channels, label),
      () =>
        route.presence &&
        settle(route.presence(client), (info) => this.recordPresenceInfo(entry, info, label)),
      // Before onJoin, which can then answer a gap with a snapshot.
      () => route.replayLimit !== false && this.replay(entry, route.replayLimit),
      () => hooks.onJoin && settle(hooks.onJoin(), (value) => (joined = value)),
    ];
    for (const step of steps) {
      const running = step();
      if (isThenable(running)) await running;
      if (this.stopped(client)) return undefined;
    }
    // What the replay found (of the channels the client is in by now) and the live messages held meanwhile.
    this.resume(entry);
    if (client.closed) return undefined;
    // A gap is said first, before anything else the client gets.
    const head = client.replay === 'gap' ? encodeResync(route.resyncEvent, client.lastEventId) : '';
    return { head, result, joined };
  }

  /** Whether setup must stop: the client is gone, or the app began to shut down meanwhile. */
  private stopped(client: SseClient): boolean {
    if (this.shuttingDown) streamOf(client).end('shutdown');
    return client.closed;
  }

  private register(
    client: SseClient,
    route: StreamRoute,
    onMessage: SseMessageHandler | undefined,
  ): HubEntry {
    const replays = route.replayLimit !== false && client.lastEventId !== undefined;
    const stream = streamOf(client);
    const entry: HubEntry = {
      client,
      stream,
      onMessage,
      pending: undefined,
      replay: replays ? new StreamReplay(client, stream) : undefined,
      announces: route.presenceEvents,
    };
    if (client.closed) return entry;
    this.registry.add(entry);
    // Told of the close through the listener: no closure per client.
    streamOf(client).setChannelListener(this);
    return entry;
  }

  private joinChannels(client: SseClient, channels: unknown, label: string): unknown {
    if (channels === undefined) return undefined;
    const join = (given: unknown) => {
      // A name no transport can store (SseChannelNameError) is 400, through SseErrorsFilter.
      for (const channel of channelList(given, `@SseRoute() ${label}`)) client.join(channel);
    };
    return typeof channels === 'function' ? settle(channels(client.request), join) : join(channels);
  }

  /**
   * What the route's `presence` option said of a stream, listed by `presence()`: as JSON
   * gives it back, on every transport alike (the in-process one keeps no object of the
   * app's). `SsePresenceInfoError`, naming the route, for what JSON cannot encode.
   */
  private recordPresenceInfo(entry: HubEntry, info: unknown, route: string): void {
    let json: string | undefined;
    try {
      json = JSON.stringify(info);
    } catch (error) {
      throw new SsePresenceInfoError(route, error);
    }
    entry.info = json === undefined ? undefined : JSON.parse(json);
  }

  private async replay(entry: HubEntry, limit: number): Promise<void> {
    const status = entry.replay
      ? await entry.replay.read(this.readHistory, this.delivery.encoder, limit)
      : 'none';
    this.metrics.replayed(status);
  }

  private readonly readHistory = (
    lastEventId: string,
    take: (message: SseBroadcastMessage) => boolean,
  ): Promise<SseHistoryResult> => this.replays.run(() => this.history(lastEventId, take));

  private async history(
    lastEventId: string,
    take: (message: SseBroadcastMessage) => boolean,
  ): Promise<SseHistoryResult> {
    try {
      const history = await this.transport.history(lastEventId, take);
      // A transport that listed them rather than hand them over (the in-process one).
      if (history.status === 'complete')
        for (const message of history.messages) if (!take(message)) return { status: 'gap' };
      return history;
    } catch (error) {
      // Without history the client cannot be brought up to date: say so rather than fail the stream.
      this.logger.error(
        `replay:${(error as Error).message}`,
        `Replay after ${lastEventId} failed, so the client gets a resync; check the transport: ${(error as Error).message}`,
      );
      return { status: 'gap' };
    }
  }

  /** The setup is done: what its replay found and the hub held, then presence. */
  private resume(entry: HubEntry): void {
    if (this.registry.get(entry.client.id) !== entry) return;
    const replay = entry.replay;
    if (replay) this.serial.run(() => replay.release((message) => deliverTo(this.delivery, entry, message)));
    // Set up: from here on it is in presence(), and its channels hear that it came.
    entry.present = true;
    this.reportPresence(() => presenceSet(entry, []));
    for (const channel of entry.client.channels) this.announce(entry, 'join', channel);
  }

  /** `true` once the application has begun to shut down. */
  get closing(): boolean {
    return this.shuttingDown;
  }

  /** Publishes a broadcast, checked and encoded here. */
  async broadcast(value: unknown, options: SseBroadcastOptions): Promise<void> {
    await this.transport.publish(broadcastMessage(value, options, this.maxEventBytes));
    this.metrics.broadcastPublished();
  }

  /** Whether the transport carries messages now; one without `state()` (in-process) always does. */
  transportState(): SseTransportState {
    try {
      return this.transport.state?.() ?? { up: true };
    } catch (error) {
      return { up: false, reason: `its state could not be read: ${(error as Error).message}` };
    }
  }

  channelJoined(client: SseClient, channel: string): void {
    const entry = this.registry.get(client.id);
    if (!entry) return;
    this.registry.index(entry, channel);
    if (!entry.present) return;
    this.reportPresence(() => presenceSet(entry, []));
    this.announce(entry, 'join', channel);
  }

  channelLeft(client: SseClient, channel: string): void {
    const entry = this.registry.get(client.id);
    if (!entry) return;
    this.registry.unindex(entry, channel);
    if (!entry.present) return;
    this.reportPresence(() => presenceSet(entry, [channel]));
    this.announce(entry, 'leave', channel);
  }

  /** The client has closed: out of the registry before its close listeners (`onClose`) run. */
  clientClosed(client: SseClient): void {
    const entry = this.registry.get(client.id);
    if (entry?.client !== client) return;
    this.registry.remove(entry);
    streamOf(client).setChannelListener(undefined);
    if (!entry.present) return;
    this.reportPresence(() => ({ type: 'remove', id: client.id, channels: [...client.channels] }));
    for (const channel of client.channels) this.announce(entry, 'leave', channel);
  }

  /** To the transport's presence store; the in-process one reads the registry (no change object is made). */
  private reportPresence(change: () => SsePresenceChange): void {
    if (!this.recordsPresence) return;
    try {
      this.presenceStore.update([change()]);
    } catch (error) {
      this.logger.error(
        'presence',
        `Presence could not be recorded, so presence() may miss a stream: ${(error as Error).message}`,
      );
    }
  }

  /**
   * A `join` or `leave` event to the channel's members, on every instance, for a route
   * with `presenceEvents`. None on shutdown: every stream ends then, and clients come back.
   */
  private announce(entry: HubEntry, event: 'join' | 'leave', channel: string): void {
    if (!entry.announces || this.shuttingDown) return;
    this.announceOf(entry.client.id, entry.info ?? null, event, channel);
  }

  private announceOf(id: string, info: unknown, event: 'join' | 'leave', channel: string): void {
    this.broadcast({ event, data: { channel, id, info } }, { channels: channel }).catch((error: unknown) =>
      this.logger.error(
        'presence-event',
        `The ${event} event of ${id} in ${channel} could not be broadcast, so its members did not hear of it: ` +
          (error as Error).message,
      ),
    );
  }

  private dispatch(message: SseHubMessage): void {
    if (message.type === 'close') {
      this.registry.get(message.clientId)?.client.close();
      return;
    }
    if (message.type === 'close-user') {
      this.userClosures.closed(message.user);
      // A copy: each close takes its stream out of the index being read.
      for (const entry of Array.from(this.registry.ofUser(message.user))) entry.client.close();
      return;
    }
    if (message.type === 'join' || message.type === 'leave') {
      const client = this.registry.get(message.clientId)?.client;
      for (const channel of client ? message.channels : []) {
        if (message.type === 'join') client!.join(channel);
        else client!.leave(channel);
      }
      return;
    }
    if (message.type === 'departed' || message.type === 'returned') {
      // Streams of a dead instance leave whatever this one is doing; this one's own came back, unless they are ending.
      if (message.type === 'returned' && this.shuttingDown) return;
      const event = message.type === 'departed' ? 'leave' : 'join';
      for (const { id, channels, info } of message.clients)
        for (const channel of channels) this.announceOf(id, info, event, channel);
      return;
    }
    if (message.type === 'run') return this.runs.notice(message);
    if (message.type === 'resync') {
      // What was missed is unknown, and so is who it was for: everyone is told (the transport logged why).
      // Run readers missed nothing the run store does not have: they read it instead.
      for (const entry of this.registry.all()) if (!this.runs.reads(entry.client)) entry.stream.resync();
      this.runs.catchUp();
      return;
    }
    this.deliver(message);
  }

  private deliver(message: DeliveredMessage): void {
    let encoded: Buffer | undefined;
    try {
      // Looked up once per message, not once per recipient.
      encoded = this.delivery.encoder.encoded(message);
    } catch (error) {
      // Only a message from another instance can fail to encode here (ours were checked).
      this.logger.error(
        `encode:${(error as Error).message}`,
        'A hub message from another instance could not be encoded and was not delivered ' +
          `(is every instance on the same version?): ${(error as Error).message}`,
      );
      return;
    }
    const recipients =
      message.type === 'send'
        ? this.entryOf(message.clientId)
        : this.registry.recipients(message.channels, message.except, message.users);
    // Once per message, not per recipient: from its publish to its write here.
    if (deliverToAll(this.delivery, recipients, message, encoded) > 0 && message.publishedAt !== undefined)
      this.metrics.delivered(message.publishedAt);
  }

  private entryOf(clientId: string): HubEntry[] {
    const entry = this.registry.get(clientId);
    return entry ? [entry] : [];
  }
}

/** `then(value)` at once for a plain value, after it settles for a promise. */
function settle(value: unknown, then: (value: unknown) => void): unknown {
  return isThenable(value) ? Promise.resolve(value).then(then) : then(value);
}
