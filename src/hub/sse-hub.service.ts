import {
  type BeforeApplicationShutdown,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { type SseClient } from '../connection';
import { checkChannelName } from '../connection/sse-channel-name.error';
import { checkUserId } from '../connection/sse-user-id.error';
import { channelList } from './channel-list';
import { prepareMessage } from './hub-message-encoder';
import { HubStreams } from './hub-streams';
import { type SseBroadcastOptions } from './sse-broadcast-options.interface';
import { type SseEventMap, type SseEventOf } from './sse-event-map.type';
import { type SseHubStats } from './sse-hub-stats.interface';
import { type SsePresence, type SsePresenceQuery } from './sse-presence.interface';
import { type SseRunStatus } from './sse-run-status.interface';

/**
 * The registry of this instance's open streams, by id and by channel, and the way to
 * send to them from anywhere: inject it and call `broadcast`, `sendTo` or `close`.
 * Typed with an event map (`SseHub<RoomEvents>`), it takes only the events declared there.
 *
 * @publicApi
 */
@Injectable()
export class SseHub<TEvents extends SseEventMap = any>
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly streams: HubStreams;

  /** @hidden Made by Nest (`SseModule` provides it): inject it, do not construct it. */
  constructor(@Optional() streams?: HubStreams) {
    this.streams = streams ?? new HubStreams();
  }

  /** Nest's start-up hook: creates the metrics instruments, then subscribes to the transport and presence store. */
  async onModuleInit(): Promise<void> {
    // Here rather than in the constructor: an app registers its OpenTelemetry SDK before it starts.
    await this.streams.start();
  }

  /**
   * Sends `value` to every client, or to the clients of `options.channels`, or to the
   * streams of `options.users`, with an id that orders it; it is kept for clients that
   * reconnect (one to `users`, replayed only to those users' streams). Encoded once, here:
   * rejects with `SseEncodeError`, `SseEventTooLargeError` or `SseUserIdError` (nothing
   * sent) if it cannot be sent.
   */
  async broadcast(value: SseEventOf<TEvents>, options: SseBroadcastOptions = {}): Promise<void> {
    await this.streams.broadcast(value, options);
  }

  /**
   * Sends `value` to one client, wherever it is connected. It gets no id and is not kept:
   * a reconnected client is another client.
   */
  async sendTo(clientId: string, value: SseEventOf<TEvents>): Promise<void> {
    const message = { type: 'send' as const, clientId, value, publishedAt: Date.now() };
    await this.streams.transport.publish(prepareMessage(message, this.streams.maxEventBytes));
  }

  /**
   * Puts a client into channels, wherever it is connected (the instance that handled a
   * POST need not hold the stream). It gets their broadcasts published after this
   * resolves; earlier ones are not replayed to it. Nothing happens for an unknown id.
   */
  async join(clientId: string, channels: string | readonly string[]): Promise<void> {
    await this.streams.transport.publish({
      type: 'join',
      clientId,
      channels: channelList(channels, 'SseHub.join'),
    });
  }

  /** Takes a client out of channels, wherever it is connected, for what is published after this resolves. */
  async leave(clientId: string, channels: string | readonly string[]): Promise<void> {
    await this.streams.transport.publish({
      type: 'leave',
      clientId,
      channels: channelList(channels, 'SseHub.leave'),
    });
  }

  /** Ends one client's stream (reason `server-closed`), wherever it is connected. */
  async close(clientId: string): Promise<void> {
    await this.streams.transport.publish({ type: 'close', clientId });
  }

  /**
   * Ends every stream of a user (reason `server-closed`) on every instance: at logout, or
   * for a ban. Streams the user opens afterwards are the app's guard's to refuse. Rejects
   * with `SseUserIdError` for an id no stream can have.
   */
  async closeUser(userId: string): Promise<void> {
    const user = checkUserId(userId, 'SseHub.closeUser');
    await this.streams.transport.publish({ type: 'close-user', user });
  }

  /**
   * Aborts the resumable run of `key`, wherever it is produced: its handler's
   * `@SseRunSignal()` aborts and its source is stopped, its readers' streams end, and it
   * reads as `aborted` for its `ttl`. `true` if it was running; `false` if it had ended,
   * or there is none. Rejects with `SseRunKeyError` for a key no run can have.
   */
  async abortRun(key: string): Promise<boolean> {
    return this.streams.runs.abort(key);
  }

  /**
   * How the resumable run of `key` stands, on any instance: `undefined` when there is none
   * (or it is gone after its `ttl`). Rejects with `SseRunKeyError` for a key no run can have.
   */
  async runStatus(key: string): Promise<SseRunStatus | undefined> {
    return this.streams.runs.status(key);
  }

  /** How many streams are open on this instance, in all or in one channel. */
  count(channel?: string): number {
    return this.streams.registry.count(channel);
  }

  /** The streams open on this instance, in all or in one channel. */
  clients(channel?: string): SseClient[] {
    return Array.from(this.streams.registry.all(channel), (entry) => entry.client);
  }

  /**
   * Every open stream of the application (on every instance, when the transport spans
   * instances, e.g. Redis), or those of one channel (`presence('lobby')`), of one user
   * (`presence({ user })`: how many devices they have open) or of both, each with its
   * `user` and the `info` its route's `presence` option gave it. `count()` and
   * `clients()` stay this instance's.
   */
  async presence(query?: string | SsePresenceQuery): Promise<SsePresence> {
    const { channel, user: given } =
      typeof query === 'string' ? { channel: query, user: undefined } : (query ?? {});
    if (channel !== undefined) checkChannelName(channel);
    const user = given === undefined ? undefined : checkUserId(given, 'SseHub.presence');
    return user === undefined
      ? this.streams.presenceStore.presence(channel)
      : this.streams.presenceStore.presence(channel, user);
  }

  /**
   * A snapshot of this instance: streams by route, channels, pending bytes, slow consumers,
   * refusals, replays and the transport's state (the totals behind the metrics, for apps
   * without OpenTelemetry, and the data of the dashboard).
   */
  stats(): SseHubStats {
    const { metrics, registry, options, pendingBudget, transport } = this.streams;
    const routes = Array.from(metrics.routes(), (tally) => ({
      route: tally.label,
      streams: tally.open,
      events: tally.events,
      bytes: tally.bytes,
      slowConsumers: tally.slow.close + tally.slow.drop,
    })).sort((a, b) => b.streams - a.streams || a.route.localeCompare(b.route));
    const slowConsumers = { close: 0, drop: 0 };
    for (const tally of metrics.routes()) {
      slowConsumers.close += tally.slow.close;
      slowConsumers.drop += tally.slow.drop;
    }
    return {
      time: Date.now(),
      streams: registry.size,
      maxConnections: options.maxConnections,
      routes,
      channels: { count: registry.channelCount, busiest: registry.busiestChannels(10) },
      pendingBytes: pendingBudget?.recount() ?? 0,
      maxTotalPendingBytes: pendingBudget?.max,
      slowConsumers,
      rejected: { ...metrics.rejected },
      broadcasts: metrics.broadcasts,
      replays: { ...metrics.replays },
      runs: {
        active: metrics.runs.active,
        finished: { ...metrics.runs.finished },
        readers: this.streams.runs.readerCount,
        running: this.streams.runs.running(),
      },
      transport: { name: transport.constructor.name, ...this.streams.transportState() },
    };
  }

  /**
   * Nest's shutdown hook, before the HTTP server closes: ends every stream (reason
   * `shutdown`), then stops the presence store and closes the transport.
   */
  async beforeApplicationShutdown(): Promise<void> {
    // Before the HTTP server closes. It does not wait for a client that stopped reading:
    // server.close() drops every connection that is not receiving a request. The transport
    // closes here, not in onApplicationShutdown: that is where an app ends the pool or
    // client it gave the transport, which must say its goodbye (presence) on it first.
    await this.streams.shutDown();
  }

  /** Nest's last shutdown hook: stops the metrics. */
  onApplicationShutdown(): void {
    this.streams.stop();
  }
}
