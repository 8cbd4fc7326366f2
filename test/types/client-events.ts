/**
 * Type assertions for nestjs-sse-hub/client, compiled by `npm run typecheck` (never run):
 * a client typed with the event map of the server's `SseHub<Events>` accepts the names the
 * map declares (and the built-in `resync`) with their data types, and refuses the rest.
 * Each `@ts-expect-error` fails the type check if the line below it ever compiles.
 */
import { type SseHub } from 'nestjs-sse-hub';
import {
  createSseClient,
  SseClientError,
  type SseClientStatus,
  type SseClientStream,
  type SseEventMeta,
  type SseResyncData,
} from 'nestjs-sse-hub/client';

interface ChatMessage {
  from: string;
  text: string;
}

/** One map, shared by the server and the browser. */
interface ChatEvents {
  message: ChatMessage;
  presence: { count: number };
}

declare const hub: SseHub<ChatEvents>;
declare const token: string;

export async function bothEnds(): Promise<void> {
  await hub.broadcast({ event: 'message', data: { from: 'ann', text: 'hi' } });

  const stream: SseClientStream<ChatEvents> = createSseClient<ChatEvents>('/rooms/lobby/events', {
    headers: async () => ({ authorization: `Bearer ${token}` }),
  });
  stream.on('message', (data, meta) => {
    const text: string = data.text;
    const raw: string = meta.data;
    const id: string | undefined = meta.id;
    return [text, raw, id];
  });
  stream.on('presence', (data: { count: number }) => data.count);
  const off: () => void = stream.on('resync', (data: SseResyncData) => data.dropped ?? data.lastEventId);
  off();
  stream.onError((error: SseClientError) => [error.status, error.willRetry, error.cause]);
  const status: SseClientStatus = stream.status;
  const last: string | undefined = stream.lastEventId;
  void [status, last];

  // @ts-expect-error an event the map does not declare
  stream.on('mesage', () => undefined);
  // @ts-expect-error a listener expecting another event's data
  stream.on('presence', (data: ChatMessage) => data.text);
  stream.on('message', (data) => {
    // @ts-expect-error a field the event's data does not have
    return data.count;
  });
  // @ts-expect-error a listener of the built-in resync expecting a string
  stream.on('resync', (data: string) => data);
  // @ts-expect-error a status the client never has
  const never: SseClientStatus = 'errored';
  void never;
  // @ts-expect-error the signal is an AbortSignal, not a boolean
  createSseClient<ChatEvents>('/x', { signal: true });
}

/** A map with its own `resync` keeps it: the built-in one does not override it. */
interface OwnResync {
  resync: { snapshot: string[] };
}
export function ownResync(stream: SseClientStream<OwnResync>): void {
  stream.on('resync', (data) => data.snapshot.join());
  // @ts-expect-error not the built-in resync's data
  stream.on('resync', (data: SseResyncData) => data.lastEventId);
}

/** Untyped: any name, any data. */
export function untyped(): void {
  const stream = createSseClient('/events');
  stream.on('anything', (data: { whatever: number }, meta: SseEventMeta) => [data.whatever, meta.event]);
  stream.on('message', (data) => data.any.thing);
  const error = new SseClientError('why', false, 401);
  void (error instanceof Error);
}
