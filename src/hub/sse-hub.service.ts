import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import {
  type SseChannelListener,
  type SseClient,
  SsePendingBudget,
  type SseReplayStatus,
} from '../connection';
import { streamOf } from '../connection/internal';
import { checkChannelName } from '../connection/sse-channel-name.error';
import { type ClientDelivery, deliverTo, releaseHeld } from './client-delivery';
import { broadcastMessage, toList } from './broadcast-message';
import { ClientRegistry, type HubEntry } from './client-registry';
import { isEventId } from './event-id';
import { type DeliveredMessage, HubMessageEncoder, prepareMessage } from './hub-message-encoder';
import { HubMetrics } from './hub-metrics';
import { InMemoryTransport } from './in-memory.transport';
import { InMemoryPresenceStore } from './in-memory.presence-store';
import { ReplayGate } from './replay-gate';
import { ReplayRead } from './replay-read';
import { SerialDelivery } from './serial-delivery';
import { type SseBroadcastOptions } from './sse-broadcast-options.interface';
import { type SseBroadcastMessage, type SseHubMessage } from './sse-hub-message.interface';
import { type SseEventMap, type SseEventOf } from './sse-event-map.type';
import { type SseHubStats } from './sse-hub-stats.interface';
import { type SsePresence, type SsePresenceChange, type SsePresenceEntry } from './sse-presence.interface';
import { SsePresenceInfoError } from './sse-presence-info.error';
import { type SsePresenceStore } from './sse-presence-store.interface';
import { SSE_HUB_OPTIONS, type SseHubOptions } from './sse-hub-options.interface';
import { type SseMessageHandler } from './sse-message-handler.type';
import { type SseHistoryResult } from './sse-replay.type';
import { SSE_TRANSPORT, type SseTransport } from './sse-transport.interface';
import { type SseTransportState } from './sse-transport-state.interface';
import { ThrottledLogger } from './throttled-logger';

function presenceOf(entry: HubEntry): SsePresenceEntry {
  return { id: entry.client.id, channels: [...entry.client.channels], info: entry.info ?? null };
}

/** A stream that came or changed, for a transport that keeps presence (which needs to know whether it announces). */
function presenceSet(entry: HubEntry, left: string[]): SsePresenceChange {
  return { type: 'set', entry: presenceOf(entry), left, announces: entry.announces === true };
}

/** How a stream is registered with the hub. */
export interface SseRegistration {
  /** The route's gateway hook, if it has one. */
  onMessage?: SseMessageHandler;
  /** Hold live messages until `replay()` and `resume()` have sent what the client missed (default true). */
  replay?: boolean;
  /** Tell the members of its channels when it joins and leaves them (`join` and `leave` events). */
  presenceEvents?: boolean;
}

// Longer ids are not ours: answered with a gap without asking the transport.
const MAX_EVENT_ID_LENGTH = 256;

/** The channels of `join` and `leave`: one name or a list of them, checked before they leave the process. */
function channelList(method: string, channels: string | readonly string[]): string[] {
  const list = toList(channels);
  if (!Array.isArray(list) || !list.every((channel) => typeof channel === 'string')) {
    throw new TypeError(
      `SseHub.${method}: channels must be a channel name or a list of them, got ${JSON.stringify(channels)}.`,
    );
  }
  list.forEach(checkChannelName);
  return list;
}

/**
 * The registry of this instance's open streams, by id and by channel, and the way to
 * send to them from anywhere: inject it and call `broadcast`, `sendTo` or `close`.
 * Typed with an event map (`SseHub<RoomEvents>`), it takes only the events declared there.
 *
 * @publicApi
 */
@Injectable()
export class SseHub<TEvents extends SseEventMap = any>
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown, SseChannelListener
{
  private readonly logger = new ThrottledLogger(SseHub.name);
  private readonly registry = new ClientRegistry();
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
  private readonly transport: SseTransport;
  private readonly presenceStore: SsePresenceStore;
  private readonly replays = new ReplayGate();
  private readonly maxEventBytes: number;
  private shuttingDown = false;
  /** @internal Counts and metrics, fed by the hub, its streams and the routes. */
  readonly metrics = new HubMetrics(() => this.transportState(), this.logger);

  constructor(
    @Optional() @Inject(SSE_TRANSPORT) transport?: SseTransport,
    @Optional() @Inject(SSE_HUB_OPTIONS) private readonly options: SseHubOptions = {},
    @Optional() private readonly pendingBudget?: SsePendingBudget,
  ) {
    this.transport = transport ?? new InMemoryTransport();
    this.presenceStore = this.transport.presenceStore ?? new InMemoryPresenceStore();
    this.maxEventBytes = options.maxEventBytes ?? Infinity;
  }

  async onModuleInit(): Promise<void> {
    // Here rather than in the constructor: an app registers its OpenTelemetry SDK before it starts.
    await this.metrics.start(this.options.metrics);
    const deliver = (message: SseHubMessage) => this.serial.run(() => this.dispatch(message));
    await this.transport.subscribe(deliver);
    this.presenceStore.start?.(deliver);
  }

  /** `true` once the application has begun to shut down: new streams are refused. */
  get closing(): boolean {
    return this.shuttingDown;
  }

  /**
   * Sends `value` to every client, or to the clients of `options.channels`, with an id
   * that orders it; it is kept for clients that reconnect. Encoded once, here: rejects with
   * `SseEncodeError` or `SseEventTooLargeError` (nothing sent) if it cannot be sent.
   */
  async broadcast(value: SseEventOf<TEvents>, options: SseBroadcastOptions = {}): Promise<void> {
    const message = broadcastMessage(value, options, this.maxEventBytes);
    await this.transport.publish(message);
    this.metrics.broadcastPublished();
  }

  /**
   * Sends `value` to one client, wherever it is connected. It gets no id and is not kept:
   * a reconnected client is another client.
   */
  async sendTo(clientId: string, value: SseEventOf<TEvents>): Promise<void> {
    await this.transport.publish(
      prepareMessage({ type: 'send', clientId, value, publishedAt: Date.now() }, this.maxEventBytes),
    );
  }

  /**
   * Puts a client into channels, wherever it is connected (the instance that handled a
   * POST need not hold the stream). It gets their broadcasts published after this
   * resolves; earlier ones are not replayed to it. Nothing happens for an unknown id.
   */
  async join(clientId: string, channels: string | readonly string[]): Promise<void> {
    await this.transport.publish({ type: 'join', clientId, channels: channelList('join', channels) });
  }

  /** Takes a client out of channels, wherever it is connected, for what is published after this resolves. */
  async leave(clientId: string, channels: string | readonly string[]): Promise<void> {
    await this.transport.publish({ type: 'leave', clientId, channels: channelList('leave', channels) });
  }

  /** Ends one client's stream (reason `server-closed`), wherever it is connected. */
  async close(clientId: string): Promise<void> {
    await this.transport.publish({ type: 'close', clientId });
  }

  /** How many streams are open on this instance, in all or in one channel. */
  count(channel?: string): number {
    return this.registry.count(channel);
  }

  /** The streams open on this instance, in all or in one channel. */
  clients(channel?: string): SseClient[] {
    return Array.from(this.registry.all(channel), (entry) => entry.client);
  }

  /**
   * Adds a stream to the registry until it closes; what the hub sends it is queued by
   * the client until it starts. A client with a `lastEventId` is held back until
   * `resume()` (unless `replay: false`).
   */
  register(client: SseClient, registration: SseRegistration = {}): void {
    if (client.closed) return;
    const held = registration.replay !== false && client.lastEventId !== undefined ? [] : undefined;
    this.registry.add({
      client,
      stream: streamOf(client),
      onMessage: registration.onMessage,
      pending: undefined,
      held,
      heldBytes: 0,
      missed: undefined,
      replayedUpTo: undefined,
      announces: registration.presenceEvents === true,
    });
    // Told of the close through the listener: no closure per client.
    streamOf(client).setChannelListener(this);
  }

  /**
   * Reads what a registered client missed since its `lastEventId` and says whether it can
   * have all of it (`complete`) or must resynchronise (`gap`); the live messages stay held.
   * `resume()` then sends the missed broadcasts of the channels the client is in by then,
   * and the held ones, with no gap and no duplicate. More than `limit` missed events, or
   * more bytes than the client may have pending, count as a gap, like an id that is too
   * old or unknown.
   */
  async replay(client: SseClient, limit = Infinity): Promise<SseReplayStatus> {
    const status = await this.readMissed(client, limit);
    this.metrics.replayed(status);
    return status;
  }

  /**
   * A snapshot of this instance: streams by route, channels, pending bytes, slow consumers,
   * refusals, replays and the transport's state (the totals behind the metrics, for apps
   * without OpenTelemetry, and the data of the dashboard).
   */
  stats(): SseHubStats {
    const routes = Array.from(this.metrics.routes(), (tally) => ({
      route: tally.label,
      streams: tally.open,
      events: tally.events,
      bytes: tally.bytes,
      slowConsumers: tally.slow.close + tally.slow.drop,
    })).sort((a, b) => b.streams - a.streams || a.route.localeCompare(b.route));
    const slowConsumers = { close: 0, drop: 0 };
    for (const tally of this.metrics.routes()) {
      slowConsumers.close += tally.slow.close;
      slowConsumers.drop += tally.slow.drop;
    }
    return {
      time: Date.now(),
      streams: this.registry.size,
      maxConnections: this.options.maxConnections,
      routes,
      channels: { count: this.registry.channelCount, busiest: this.registry.busiestChannels(10) },
      pendingBytes: this.pendingBudget?.recount() ?? 0,
      maxTotalPendingBytes: this.pendingBudget?.max,
      slowConsumers,
      rejected: { ...this.metrics.rejected },
      broadcasts: this.metrics.broadcasts,
      replays: { ...this.metrics.replays },
      transport: { name: this.transport.constructor.name, ...this.transportState() },
    };
  }

  /** Whether the transport carries messages now; one without `state()` (in-process) always does. */
  private transportState(): SseTransportState {
    try {
      return this.transport.state?.() ?? { up: true };
    } catch (error) {
      return { up: false, reason: `its state could not be read: ${(error as Error).message}` };
    }
  }

  private async readMissed(client: SseClient, limit: number): Promise<SseReplayStatus> {
    const entry = this.registry.get(client.id);
    const lastEventId = client.lastEventId;
    if (!entry?.held || lastEventId === undefined) return 'none';
    const read = new ReplayRead(entry, this.delivery.encoder, limit);
    // Read page by page into what the client may have; more than that is a gap (a resync, and a snapshot from onJoin, serve it better than a cut-off).
    const history = await this.replays.run(() => this.history(lastEventId, read.take));
    if (client.closed) return 'none';
    if (history.status !== 'complete' || read.overflowed) {
      if (lastEventId.length <= MAX_EVENT_ID_LENGTH && isEventId(lastEventId)) entry.gapAt = Date.now();
      return 'gap';
    }
    if (!entry.stream.reserve(read.bytes)) return 'none';
    entry.heldBytes += read.bytes;
    const skipped = read.skipped && { channels: read.skipped, joined: new Set(client.channels) };
    entry.missed = { messages: read.messages, upTo: read.upTo ?? lastEventId, skipped };
    return 'complete';
  }

  /**
   * Lets a registered client have what the hub held for it: the broadcasts its replay
   * found (of the channels it is in now, so that channels joined in `onJoin` are replayed
   * too), then the live messages held meanwhile.
   */
  resume(client: SseClient): void {
    const entry = this.registry.get(client.id);
    if (!entry) return;
    if (entry.held) this.serial.run(() => releaseHeld(this.delivery, entry));
    // Set up: from here on it is in presence(), and its channels hear that it came.
    entry.present = true;
    this.reportPresence(() => presenceSet(entry, []));
    for (const channel of client.channels) this.announce(entry, 'join', channel);
  }

  /**
   * What the route's `presence` option said of a registered client, listed by `presence()`:
   * as JSON gives it back, on every transport alike (the in-process one keeps no object of
   * the app's). Throws `SsePresenceInfoError`, naming `route`, for what JSON cannot encode.
   */
  describe(client: SseClient, info: unknown, route: string): void {
    let json: string | undefined;
    try {
      json = JSON.stringify(info);
    } catch (error) {
      throw new SsePresenceInfoError(route, error);
    }
    const entry = this.registry.get(client.id);
    if (entry) entry.info = json === undefined ? undefined : JSON.parse(json);
  }

  /**
   * Every open stream of the application (on every instance, when the transport spans
   * instances, e.g. Redis), or of one channel, each with the `info` its route's
   * `presence` option gave it. `count()` and `clients()` stay this instance's.
   */
  async presence(channel?: string): Promise<SsePresence> {
    if (channel !== undefined) checkChannelName(channel);
    return this.presenceStore.presence(channel);
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
    entry.stream.setChannelListener(undefined);
    if (!entry.present) return;
    this.reportPresence(() => ({ type: 'remove', id: client.id, channels: [...client.channels] }));
    for (const channel of client.channels) this.announce(entry, 'leave', channel);
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Before the HTTP server closes. It does not wait for a client that stopped reading:
    // server.close() drops every connection that is not receiving a request.
    this.shuttingDown = true;
    for (const client of this.clients()) streamOf(client).end('shutdown');
    // Here, not in onApplicationShutdown: that is where an app ends the pool or client it
    // gave the transport, which must say its goodbye (presence) on it first.
    await this.presenceStore.stop?.();
    await this.transport.close?.();
  }

  onApplicationShutdown(): void {
    this.metrics.stop();
  }

  /** To the presence store: the transport's, or this instance's in memory. */
  private reportPresence(change: () => SsePresenceChange): void {
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
    const value = { event, data: { channel, id, info } };
    this.broadcast(value as SseEventOf<TEvents>, { channels: channel }).catch((error: unknown) =>
      this.logger.error(
        'presence-event',
        `The ${event} event of ${id} in ${channel} could not be broadcast, so its members did not hear of it: ${(error as Error).message}`,
      ),
    );
  }

  private async history(
    lastEventId: string,
    each: (message: SseBroadcastMessage) => boolean,
  ): Promise<SseHistoryResult> {
    if (lastEventId.length > MAX_EVENT_ID_LENGTH || !isEventId(lastEventId)) return { status: 'gap' };
    try {
      const history = await this.transport.history(lastEventId, each);
      // A transport that listed them rather than hand them over (the in-process one).
      if (history.status === 'complete')
        for (const message of history.messages) if (!each(message)) return { status: 'gap' };
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

  private dispatch(message: SseHubMessage): void {
    if (message.type === 'close') {
      this.registry.get(message.clientId)?.client.close();
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
    if (message.type === 'resync') {
      // What was missed is unknown, and so is who it was for: everyone is told (the transport logged why).
      for (const entry of this.registry.all()) entry.stream.resync();
      return;
    }
    let encoded: Buffer | undefined;
    try {
      // Looked up once per message, not once per recipient.
      encoded = this.delivery.encoder.encoded(message);
    } catch (error) {
      // Only a message from another instance can fail to encode here (ours were checked).
      this.logger.error(
        `encode:${(error as Error).message}`,
        `A hub message from another instance could not be encoded and was not delivered (is every instance on the same version?): ${(error as Error).message}`,
      );
      return;
    }
    const recipients =
      message.type === 'send'
        ? this.entryOf(message.clientId)
        : this.registry.recipients(message.channels, message.except);
    this.delivery.tooLarge = 0;
    let failed = 0;
    let delivered = 0;
    let failure: unknown;
    for (const entry of recipients) {
      delivered++;
      // Each recipient on its own: one whose write fails must not cost the others the message.
      try {
        deliverTo(this.delivery, entry, message, encoded);
      } catch (error) {
        failed++;
        failure ??= error;
        entry.stream.end('error');
      }
    }
    // Once per message, not per recipient: from its publish to its write here.
    if (delivered > 0 && message.publishedAt !== undefined) this.metrics.delivered(message.publishedAt);
    if (failed > 0) {
      this.logger.error(
        `deliver:${(failure as Error)?.message ?? String(failure)}`,
        `Delivering a hub message failed for ${failed} client(s), whose streams were closed (they reconnect): ${(failure as Error)?.message ?? String(failure)}`,
        (failure as Error)?.stack,
      );
    }
    if (this.delivery.tooLarge > 0) this.reportTooLarge(message, encoded, this.delivery.tooLarge);
  }

  private reportTooLarge(message: DeliveredMessage, encoded: Buffer | undefined, clients: number): void {
    const what = message.type === 'broadcast' ? `Broadcast ${message.id ?? ''}` : 'A message';
    this.logger.error(
      'too-large',
      `${what} (${encoded?.length ?? '?'} bytes) is over the maxEventBytes of ${clients} client(s): they were sent a resync instead. Send smaller events or raise maxEventBytes.`,
    );
  }

  private entryOf(clientId: string): HubEntry[] {
    const entry = this.registry.get(clientId);
    return entry ? [entry] : [];
  }
}
