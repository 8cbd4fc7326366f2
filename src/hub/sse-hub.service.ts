import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { SseChannelListener, SseClient } from '../connection';
import { encodeEvent, toSseEvent } from '../wire';
import { InMemoryTransport } from './in-memory.transport';
import { SseBroadcastOptions } from './sse-broadcast-options.interface';
import { SseHubMessage } from './sse-hub-message.interface';
import { SSE_TRANSPORT, SseTransport } from './sse-transport.interface';

/**
 * Turns a hub message into what one client is sent: the message itself (sent as the
 * bytes encoded once for everybody), another value, or nothing (`undefined`/`null`).
 */
export type SseMessageHandler = (message: unknown, client: SseClient) => unknown;

interface HubEntry {
  readonly client: SseClient;
  readonly onMessage: SseMessageHandler | undefined;
  /** Set while an async `onMessage` runs, so that later messages wait their turn. */
  pending: Promise<void> | undefined;
}

function toList(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : [...value];
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
  // What this hub already encoded for a message it published, so it is not encoded twice.
  private readonly encodedByMessage = new WeakMap<SseHubMessage, Buffer>();
  private readonly transport: SseTransport;
  private shuttingDown = false;

  constructor(@Optional() @Inject(SSE_TRANSPORT) transport?: SseTransport) {
    this.transport = transport ?? new InMemoryTransport();
  }

  async onModuleInit(): Promise<void> {
    await this.transport.subscribe((message) => this.deliver(message));
  }

  /** `true` once the application has begun to shut down: new streams are refused. */
  get closing(): boolean {
    return this.shuttingDown;
  }

  /**
   * Sends `value` to every client, or to the clients of `options.channels`. It is
   * encoded once; rejects with `SseEncodeError` (nothing sent) if it cannot be.
   */
  async broadcast(value: unknown, options: SseBroadcastOptions = {}): Promise<void> {
    const message: SseHubMessage = { type: 'broadcast', value, channels: toList(options.channels), except: toList(options.except) };
    this.encodeOnce(message, value);
    await this.transport.publish(message);
  }

  /** Sends `value` to one client, wherever it is connected. */
  async sendTo(clientId: string, value: unknown): Promise<void> {
    const message: SseHubMessage = { type: 'send', clientId, value };
    this.encodeOnce(message, value);
    await this.transport.publish(message);
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
   * Adds a started stream to the registry until it closes. `onMessage` is the route's
   * gateway hook, if it has one.
   */
  register(client: SseClient, onMessage?: SseMessageHandler): void {
    if (client.closed) return;
    const entry: HubEntry = { client, onMessage, pending: undefined };
    this.entries.set(client.id, entry);
    for (const channel of client.channels) this.index(entry, channel);
    client.setChannelListener(this);
    client.onClose(() => this.unregister(entry));
  }

  channelJoined(client: SseClient, channel: string): void {
    const entry = this.entries.get(client.id);
    if (entry) this.index(entry, channel);
  }

  channelLeft(client: SseClient, channel: string): void {
    const entry = this.entries.get(client.id);
    if (entry) this.unindex(entry, channel);
  }

  beforeApplicationShutdown(): void {
    // Before the HTTP server closes: it waits for every open response to end.
    this.shuttingDown = true;
    for (const { client } of [...this.entries.values()]) client.end('shutdown');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close?.();
  }

  private encodeOnce(message: SseHubMessage, value: unknown): void {
    const event = toSseEvent(value);
    if (event) this.encodedByMessage.set(message, Buffer.from(encodeEvent(event)));
  }

  private encoded(message: SseHubMessage, value: unknown): Buffer | undefined {
    let encoded = this.encodedByMessage.get(message);
    if (encoded === undefined) {
      this.encodeOnce(message, value);
      encoded = this.encodedByMessage.get(message);
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
      for (const entry of recipients) this.deliverTo(entry, message, message.value);
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

  private deliverTo(entry: HubEntry, message: SseHubMessage, value: unknown): void {
    if (!entry.onMessage) {
      const encoded = this.encoded(message, value);
      if (encoded) entry.client.write(encoded);
      return;
    }
    if (entry.pending) {
      // An earlier async onMessage is still running: keep the order.
      this.chain(entry, entry.pending.then(() => this.runOnMessage(entry, message, value)));
      return;
    }
    const running = this.runOnMessage(entry, message, value);
    if (running) this.chain(entry, running);
  }

  private chain(entry: HubEntry, pending: Promise<void>): void {
    entry.pending = pending;
    void pending.then(() => {
      if (entry.pending === pending) entry.pending = undefined;
    });
  }

  private runOnMessage(entry: HubEntry, message: SseHubMessage, value: unknown): Promise<void> | undefined {
    const { client, onMessage } = entry;
    if (client.closed || !onMessage) return undefined;
    let result: unknown;
    try {
      result = onMessage(value, client);
    } catch (error) {
      this.logHookError(client, error);
      return undefined;
    }
    if (!isThenable(result)) {
      this.sendResult(entry, message, value, result);
      return undefined;
    }
    return Promise.resolve(result).then(
      (resolved) => this.sendResult(entry, message, value, resolved),
      (error: unknown) => this.logHookError(client, error),
    );
  }

  private sendResult(entry: HubEntry, message: SseHubMessage, value: unknown, result: unknown): void {
    if (result === undefined || result === null || entry.client.closed) return;
    if (result === value) {
      const encoded = this.encoded(message, value);
      if (encoded) entry.client.write(encoded);
      return;
    }
    const sent = entry.client.send(result);
    if (!sent.ok) this.logger.error(`onMessage for SSE client ${entry.client.id} returned a value that cannot be sent: ${sent.error.message}`);
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
    if (this.entries.get(entry.client.id) !== entry) return;
    this.entries.delete(entry.client.id);
    for (const channel of entry.client.channels) this.unindex(entry, channel);
    entry.client.setChannelListener(undefined);
  }
}
