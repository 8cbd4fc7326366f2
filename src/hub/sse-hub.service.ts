import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit, Optional } from '@nestjs/common';
import { type SseChannelListener, SseClient, SseEventTooLargeError, type SseReplayStatus } from '../connection';
import { encodeEvent, type SseEvent, toSseEvent } from '../wire';
import { compareEventIds, isEventId } from './event-id';
import { InMemoryTransport } from './in-memory.transport';
import { type SseBroadcastOptions } from './sse-broadcast-options.interface';
import { type SseBroadcastMessage, type SseHubMessage } from './sse-hub-message.interface';
import { SSE_HUB_OPTIONS, type SseHubOptions } from './sse-hub-options.interface';
import { type SseHistoryResult } from './sse-replay.type';
import { SSE_TRANSPORT, type SseTransport } from './sse-transport.interface';

/**
 * Turns a hub message into what one client is sent: the message itself (sent as the
 * bytes encoded once for everybody), another value, or nothing (`undefined`/`null`).
 */
export type SseMessageHandler = (message: unknown, client: SseClient) => unknown;

/** What reaches clients: a broadcast or a message to one of them. */
type DeliveredMessage = Exclude<SseHubMessage, { type: 'close' }>;

/** How a stream is registered with the hub. */
export interface SseRegistration {
  /** The route's gateway hook, if it has one. */
  onMessage?: SseMessageHandler;
  /** Hold live messages until `replay()` has sent what the client missed (default true). */
  replay?: boolean;
}

interface HubEntry {
  readonly client: SseClient;
  readonly onMessage: SseMessageHandler | undefined;
  /** Set while an async `onMessage` runs, so that later messages wait their turn. */
  pending: Promise<void> | undefined;
  /** Live messages held back while the client is replayed what it missed. */
  held: DeliveredMessage[] | undefined;
  /**
   * The last broadcast replayed, until a later one arrives live. A transport's live
   * feed can trail its history (a Redis reader behind the XRANGE that replayed), so
   * broadcasts up to it may still come in live: the client has them already.
   */
  replayedUpTo: string | undefined;
}

// Longer ids are not ours: answered with a gap without asking the transport.
const MAX_EVENT_ID_LENGTH = 256;

function toList(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : [...value];
}

/** A broadcast's event carries the hub's id, which orders it for replay (an id of its own would break that). */
function withId(event: SseEvent | undefined, message: SseHubMessage): SseEvent | undefined {
  if (!event || message.type !== 'broadcast' || message.id === undefined) return event;
  return { ...event, id: message.id };
}

function idOf(message: SseHubMessage): string | undefined {
  return message.type === 'broadcast' ? message.id : undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/**
 * The registry of this instance's open streams, by id and by channel, and the way to
 * send to them from anywhere: inject it and call `broadcast`, `sendTo` or `close`.
 *
 * @publicApi
 */
@Injectable()
export class SseHub implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown, SseChannelListener {
  private readonly logger = new Logger(SseHub.name);
  private readonly entries = new Map<string, HubEntry>();
  private readonly channelIndex = new Map<string, Set<HubEntry>>();
  // Each message is encoded once here, with its id, whoever it goes to.
  private readonly encodedByMessage = new WeakMap<SseHubMessage, Buffer>();
  private readonly transport: SseTransport;
  private readonly maxEventBytes: number;
  private shuttingDown = false;

  constructor(@Optional() @Inject(SSE_TRANSPORT) transport?: SseTransport, @Optional() @Inject(SSE_HUB_OPTIONS) options: SseHubOptions = {}) {
    this.transport = transport ?? new InMemoryTransport();
    this.maxEventBytes = options.maxEventBytes ?? Infinity;
  }

  async onModuleInit(): Promise<void> {
    await this.transport.subscribe((message) => this.deliver(message));
  }

  /** `true` once the application has begun to shut down: new streams are refused. */
  get closing(): boolean {
    return this.shuttingDown;
  }

  /**
   * Sends `value` to every client, or to the clients of `options.channels`, with an id
   * that orders it; it is kept for clients that reconnect. Encoded once; rejects with
   * `SseEncodeError` or `SseEventTooLargeError` (nothing sent) if it cannot be sent.
   */
  async broadcast(value: unknown, options: SseBroadcastOptions = {}): Promise<void> {
    this.assertSendable(value);
    await this.transport.publish({ type: 'broadcast', value, channels: toList(options.channels), except: toList(options.except) });
  }

  /**
   * Sends `value` to one client, wherever it is connected. It gets no id and is not kept:
   * a reconnected client is another client.
   */
  async sendTo(clientId: string, value: unknown): Promise<void> {
    this.assertSendable(value);
    await this.transport.publish({ type: 'send', clientId, value });
  }

  /** Ends one client's stream (reason `server-closed`), wherever it is connected. */
  async close(clientId: string): Promise<void> {
    await this.transport.publish({ type: 'close', clientId });
  }

  /** How many streams are open on this instance, in all or in one channel. */
  count(channel?: string): number {
    return channel === undefined ? this.entries.size : (this.channelIndex.get(channel)?.size ?? 0);
  }

  /** The streams open on this instance, in all or in one channel. */
  clients(channel?: string): SseClient[] {
    const entries = channel === undefined ? this.entries.values() : (this.channelIndex.get(channel)?.values() ?? []);
    return Array.from(entries, (entry) => entry.client);
  }

  /**
   * Adds a stream to the registry until it closes; what the hub sends it is queued by
   * the client until it starts. A client with a `lastEventId` is held back until
   * `replay()` (unless `replay: false`).
   */
  register(client: SseClient, registration: SseRegistration = {}): void {
    if (client.closed) return;
    const held = registration.replay !== false && client.lastEventId !== undefined ? [] : undefined;
    const entry: HubEntry = { client, onMessage: registration.onMessage, pending: undefined, held, replayedUpTo: undefined };
    this.entries.set(client.id, entry);
    for (const channel of client.channels) this.index(entry, channel);
    // Told of the close through the listener: no closure per client.
    client.setChannelListener(this);
  }

  /**
   * Sends a registered client every broadcast of its channels after its `lastEventId`,
   * then the live ones held back meanwhile, with no gap and no duplicate. More than
   * `limit` missed events count as a gap, like an id that is too old or unknown: then
   * nothing is replayed and the caller must resynchronise the client.
   */
  async replay(client: SseClient, limit = Infinity): Promise<SseReplayStatus> {
    const entry = this.entries.get(client.id);
    const lastEventId = client.lastEventId;
    if (!entry?.held || lastEventId === undefined) return 'none';
    const history = await this.history(lastEventId);
    if (entry.client.closed) return 'none';
    const held = entry.held;
    entry.held = undefined;
    const missed = history.status === 'complete' ? history.messages.filter((message) => this.reaches(entry, message)) : [];
    const complete = history.status === 'complete' && missed.length <= limit;
    if (complete) {
      for (const message of missed) this.deliverTo(entry, message);
      // Whatever the history held is not sent twice, whether it was held back live or comes in later.
      entry.replayedUpTo = history.messages.at(-1)?.id ?? lastEventId;
    }
    for (const message of held) this.deliverTo(entry, message);
    return complete ? 'complete' : 'gap';
  }

  channelJoined(client: SseClient, channel: string): void {
    const entry = this.entries.get(client.id);
    if (entry) this.index(entry, channel);
  }

  channelLeft(client: SseClient, channel: string): void {
    const entry = this.entries.get(client.id);
    if (entry) this.unindex(entry, channel);
  }

  /** The client has closed: out of the registry before its close listeners (`onClose`) run. */
  clientClosed(client: SseClient): void {
    const entry = this.entries.get(client.id);
    if (entry?.client === client) this.unregister(entry);
  }

  beforeApplicationShutdown(): void {
    // Before the HTTP server closes. It does not wait for a client that stopped reading:
    // server.close() drops every connection that is not receiving a request.
    this.shuttingDown = true;
    for (const client of Array.from(this.entries.values(), (entry) => entry.client)) client.end('shutdown');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close?.();
  }

  private assertSendable(value: unknown): void {
    const event = toSseEvent(value);
    if (!event) return;
    const bytes = Buffer.byteLength(encodeEvent(event));
    if (bytes > this.maxEventBytes) throw new SseEventTooLargeError(bytes, this.maxEventBytes);
  }

  private async history(lastEventId: string): Promise<SseHistoryResult> {
    if (lastEventId.length > MAX_EVENT_ID_LENGTH || !isEventId(lastEventId)) return { status: 'gap' };
    try {
      return await this.transport.history(lastEventId);
    } catch (error) {
      // Without history the client cannot be brought up to date: say so rather than fail the stream.
      this.logger.error(`Replay after ${lastEventId} failed, the client gets a resync: ${(error as Error).message}`);
      return { status: 'gap' };
    }
  }

  /** The bytes of a message, with its id, encoded the first time anyone needs them. */
  private encoded(message: DeliveredMessage): Buffer | undefined {
    let encoded = this.encodedByMessage.get(message);
    if (encoded === undefined) {
      const event = withId(toSseEvent(message.value), message);
      if (!event) return undefined;
      encoded = Buffer.from(encodeEvent(event));
      this.encodedByMessage.set(message, encoded);
    }
    return encoded;
  }

  private deliver(message: SseHubMessage): void {
    try {
      if (message.type === 'close') {
        this.entries.get(message.clientId)?.client.close();
        return;
      }
      const recipients = message.type === 'send' ? this.entryOf(message.clientId) : this.recipients(message.channels, message.except);
      // Looked up once per message, not once per recipient.
      const encoded = this.encoded(message);
      for (const entry of recipients) this.deliverTo(entry, message, encoded);
    } catch (error) {
      // Only a message from another instance can fail to encode here (ours were checked).
      this.logger.error(`A hub message could not be delivered: ${(error as Error).message}`);
    }
  }

  private entryOf(clientId: string): HubEntry[] {
    const entry = this.entries.get(clientId);
    return entry ? [entry] : [];
  }

  private recipients(channels: string[] | undefined, except: string[] | undefined): Iterable<HubEntry> {
    let recipients: Iterable<HubEntry>;
    if (channels === undefined) recipients = this.entries.values();
    else if (channels.length === 1) recipients = this.channelIndex.get(channels[0]) ?? [];
    else {
      const union = new Set<HubEntry>();
      for (const channel of channels) this.channelIndex.get(channel)?.forEach((entry) => union.add(entry));
      recipients = union;
    }
    if (!except?.length) return recipients;
    const skip = new Set(except);
    return Array.from(recipients).filter((entry) => !skip.has(entry.client.id));
  }

  /** Whether a broadcast is for this client (replay: `except` named other connections). */
  private reaches(entry: HubEntry, message: SseBroadcastMessage): boolean {
    return message.channels === undefined || message.channels.some((channel) => entry.client.channels.has(channel));
  }

  private deliverTo(entry: HubEntry, message: DeliveredMessage, encoded = this.encoded(message)): void {
    if (entry.held) {
      entry.held.push(message);
      return;
    }
    if (entry.replayedUpTo !== undefined && message.type === 'broadcast' && message.id !== undefined) {
      if (compareEventIds(message.id, entry.replayedUpTo) <= 0) return;
      // Transports deliver in order: everything from here on is new.
      entry.replayedUpTo = undefined;
    }
    if (!entry.onMessage) {
      if (encoded) entry.client.write(encoded, idOf(message));
      return;
    }
    if (entry.pending) {
      // An earlier async onMessage is still running: keep the order.
      this.chain(entry, entry.pending.then(() => this.runOnMessage(entry, message)));
      return;
    }
    const running = this.runOnMessage(entry, message);
    if (running) this.chain(entry, running);
  }

  private chain(entry: HubEntry, pending: Promise<void>): void {
    entry.pending = pending;
    void pending.then(() => {
      if (entry.pending === pending) entry.pending = undefined;
    });
  }

  private runOnMessage(entry: HubEntry, message: DeliveredMessage): Promise<void> | undefined {
    const { client, onMessage } = entry;
    if (client.closed || !onMessage) return undefined;
    let result: unknown;
    try {
      result = onMessage(message.value, client);
    } catch (error) {
      this.logHookError(client, error);
      return undefined;
    }
    if (!isThenable(result)) {
      this.sendResult(entry, message, result);
      return undefined;
    }
    return Promise.resolve(result).then(
      (resolved) => this.sendResult(entry, message, resolved),
      (error: unknown) => this.logHookError(client, error),
    );
  }

  private sendResult(entry: HubEntry, message: DeliveredMessage, result: unknown): void {
    if (result === undefined || result === null || entry.client.closed) return;
    try {
      // The message unchanged: the bytes everybody gets. Anything else keeps the message's
      // id, so that the client's Last-Event-ID still moves on.
      const encoded = result === message.value ? this.encoded(message) : encodeEvent(withId(toSseEvent(result), message)!);
      if (encoded) entry.client.write(encoded, idOf(message));
    } catch (error) {
      this.logger.error(`onMessage for SSE client ${entry.client.id} returned a value that cannot be sent: ${(error as Error).message}`);
    }
  }

  private logHookError(client: SseClient, error: unknown): void {
    this.logger.error(`onMessage threw for SSE client ${client.id}; the stream stays open.`, (error as Error)?.stack ?? String(error));
  }

  private index(entry: HubEntry, channel: string): void {
    let members = this.channelIndex.get(channel);
    if (!members) this.channelIndex.set(channel, (members = new Set()));
    members.add(entry);
  }

  private unindex(entry: HubEntry, channel: string): void {
    const members = this.channelIndex.get(channel);
    if (!members) return;
    members.delete(entry);
    if (members.size === 0) this.channelIndex.delete(channel);
  }

  private unregister(entry: HubEntry): void {
    this.entries.delete(entry.client.id);
    for (const channel of entry.client.channels) this.unindex(entry, channel);
    entry.client.setChannelListener(undefined);
  }
}
