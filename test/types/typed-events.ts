/**
 * Type assertions, compiled by `npm run typecheck` (never run): a hub and a gateway typed
 * from one event map accept what the map declares and refuse the rest. Each
 * `@ts-expect-error` fails the type check if the line below it ever compiles.
 */
import { RequestMethod } from '@nestjs/common';
import { Observable, of } from 'rxjs';
import {
  type SseClient,
  type SseEventOf,
  type SseGateway,
  type SseHub,
  SseRoute,
  SseRunSignal,
  type SseRunStatus,
} from 'nestjs-sse-hub';

interface ChatMessage {
  to?: string;
  text: string;
}

interface RoomEvents {
  message: ChatMessage;
  presence: { count: number };
}

declare const hub: SseHub<RoomEvents>;

export async function broadcasts(): Promise<void> {
  await hub.broadcast({ event: 'message', data: { text: 'hi' } }, { channels: 'room:a' });
  await hub.broadcast({ event: 'presence', data: { count: 2 } });
  await hub.sendTo('id', { event: 'message', data: { to: 'id', text: 'psst' } });
  // @ts-expect-error an event the map does not declare
  await hub.broadcast({ event: 'mesage', data: { text: 'hi' } });
  // @ts-expect-error data of another event's type
  await hub.broadcast({ event: 'presence', data: { text: 'hi' } });
  // @ts-expect-error the data alone, not an event of the map
  await hub.broadcast({ text: 'hi' });
}

/** The README's old mistake: onMessage written for the data, while the hub carries `{ event, data }`. */
export class OldMistake implements SseGateway<RoomEvents> {
  // @ts-expect-error onMessage receives the whole event, so `message.to` would always be undefined
  onMessage(message: ChatMessage, client: SseClient) {
    return message.to && message.to !== client.id ? undefined : message;
  }
}

/** What it should be: the event is narrowed by its name, and `data` has the declared type. */
export class Fixed implements SseGateway<RoomEvents> {
  onMessage(message: SseEventOf<RoomEvents>, client: SseClient) {
    if (message.event === 'message') {
      const to: string | undefined = message.data.to;
      return to && to !== client.id ? undefined : message;
    }
    const count: number = message.data.count;
    return count >= 0 ? message : undefined;
  }
}

/** An untyped hub and gateway take and hand out any value, as before. */
export class Untyped implements SseGateway {
  constructor(private readonly plain: SseHub) {}

  onMessage(message: { anything: boolean }) {
    void this.plain.broadcast('a string');
    void this.plain.broadcast({ anything: true });
    return message;
  }
}

/** A route typed with the map, resumable or not: what it returns or yields is checked as a broadcast is. */
export class TypedRoutes {
  @SseRoute<RoomEvents>('events')
  events() {
    return of({ event: 'presence' as const, data: { count: 1 } });
  }

  @SseRoute<RoomEvents>(':id/answer', {
    method: RequestMethod.POST,
    resumable: { key: (req) => `answer:${req.params.id}` },
  })
  async *answer(@SseRunSignal() signal: AbortSignal) {
    if (!signal.aborted) yield { event: 'message' as const, data: { text: 'a token' } };
  }

  // @ts-expect-error a value of no event of the map
  @SseRoute<RoomEvents>('wrong', { resumable: { key: () => 'k' } })
  wrong(): Observable<{ event: 'mesage'; data: ChatMessage }> {
    return of({ event: 'mesage', data: { text: 'hi' } });
  }

  // @ts-expect-error data of another event's type, yielded by a resumable route
  @SseRoute<RoomEvents>('wrong-data', { resumable: { key: () => 'k' } })
  async *wrongData() {
    yield { event: 'presence' as const, data: { text: 'hi' } };
  }

  /** An untyped route returns anything, as before. */
  @SseRoute('anything')
  anything() {
    return of(1, 'two', { three: 3 });
  }
}

export async function runs(hub: SseHub<RoomEvents>): Promise<void> {
  const aborted: boolean = await hub.abortRun('answer:1');
  const status: SseRunStatus | undefined = await hub.runStatus('answer:1');
  void aborted;
  void status?.events;
}
