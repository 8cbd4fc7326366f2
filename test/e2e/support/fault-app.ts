import { Controller, Param, Query, RequestMethod } from '@nestjs/common';
import { createCluster } from 'redis';
import { concat, interval, map, type Observable, take, throwError } from 'rxjs';
import {
  type SseClient,
  type SseCloseReason,
  type SseGateway,
  type SseHub,
  SseRoute,
  type SseTransport,
} from '../../../src';
import { InMemoryTransport } from '../../../src/internal';
import { PostgresTransport } from '../../../src/postgres';
import { RedisStreamsTransport } from '../../../src/redis';

/**
 * The app of the fault matrix, the same in the test's process and in an instance of its
 * own (fault-instance.child.ts): one route whose streams are in the channels of the path
 * (`x+y`), of the user in the query (`?user=u1`: the matrix has no guard; none: a stream
 * without a user), listed in presence with their user (also in `info`, which every
 * presence store keeps), and greeted with their id.
 */
@Controller('matrix')
export class MatrixController implements SseGateway {
  @SseRoute(':channels/events', {
    channels: (req) => String(req.params.channels).split('+'),
    user: (req: { query: { user?: string } }) => req.query.user,
    keepAlive: false,
    presence: (client) => ({ user: client.user ?? null }),
  })
  events() {}

  /** Why each stream the server ended ended (not those the client closed): closeUser's are `server-closed`. */
  readonly endedBy = new Map<string, SseCloseReason>();

  // First on the stream (after a resync, ahead of anything replayed).
  onJoin(client: SseClient) {
    return { event: 'hello', data: client.id };
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    if (reason !== 'client-disconnected') this.endedBy.set(client.id, reason);
  }
}

const runKeyOf = (req: { params: { id: string } }) => `run:${req.params.id}`;

/**
 * The matrix's resumable runs (`/matrix/runs/:id`): a POST starts the run of `:id` (or joins
 * it), a GET only resumes it. A run yields `r<id>:<n>` for n = 1, 2… every `every` ms, as
 * event `t`, until `events` (it completes) or `fail` (it then throws): what a reader should
 * get is known from its plan, whichever instance produces it.
 */
@Controller('matrix/runs')
export class MatrixRunsController {
  @SseRoute(':id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: runKeyOf, ttl: 60_000 },
  })
  start(
    @Param('id') id: string,
    @Query('events') events: string,
    @Query('every') every: string,
    @Query('fail') fail?: string,
  ): Observable<{ event: string; data: string }> {
    const tokens = interval(Number(every)).pipe(
      take(fail === undefined ? Number(events) : Number(fail)),
      map((i) => ({ event: 't', data: `r${id}:${i + 1}` })),
    );
    if (fail === undefined) return tokens;
    return concat(
      tokens,
      throwError(() => new Error(`run ${id} fails after ${fail} events, as planned`)),
    );
  }

  @SseRoute(':id', { keepAlive: false, resumable: { key: runKeyOf, create: false } })
  resume() {}
}

/** The controllers of a matrix instance. */
export const MATRIX_CONTROLLERS = [MatrixController, MatrixRunsController];

/** A transport, as plain data: what an instance in a process of its own is told to make. */
export type TransportConfig =
  | { kind: 'memory'; maxLen: number }
  | { kind: 'redis'; url: string; stream: string; maxLen: number; presenceTtl: number }
  | {
      kind: 'cluster';
      rootNodes: Array<{ url: string }>;
      nodeAddressMap: Record<string, { host: string; port: number }>;
      stream: string;
      maxLen: number;
      presenceTtl: number;
    }
  | { kind: 'postgres'; connectionString: string; table: string; maxLen: number; presenceTtl: number };

/** The transport of `config`, and what to release after the app closed it (a cluster client is the app's). */
export function makeTransport(config: TransportConfig): { transport: SseTransport; dispose: () => void } {
  switch (config.kind) {
    case 'memory':
      return { transport: new InMemoryTransport({ historySize: config.maxLen }), dispose: () => undefined };
    case 'redis':
      return {
        transport: new RedisStreamsTransport({
          url: config.url,
          stream: config.stream,
          maxLen: config.maxLen,
          presenceTtl: config.presenceTtl,
        }),
        dispose: () => undefined,
      };
    case 'cluster': {
      // As the README says: no offline queue.
      const client = createCluster({
        rootNodes: config.rootNodes,
        nodeAddressMap: config.nodeAddressMap,
        defaults: { disableOfflineQueue: true },
      });
      const transport = new RedisStreamsTransport({
        client,
        stream: config.stream,
        maxLen: config.maxLen,
        presenceTtl: config.presenceTtl,
      });
      // Whatever it says of itself (a cluster client may say it is closed while its nodes' clients still reconnect).
      const dispose = () => {
        try {
          client.destroy();
        } catch {
          // Closed already.
        }
      };
      return { transport, dispose };
    }
    case 'postgres':
      return {
        transport: new PostgresTransport({
          connectionString: config.connectionString,
          table: config.table,
          maxLen: config.maxLen,
          presenceTtl: config.presenceTtl,
        }),
        dispose: () => undefined,
      };
  }
}

/** Resolves once the transport reads (what is published from then on reaches this instance). */
export function transportReady(transport: SseTransport): Promise<void> {
  return (transport as { ready?: () => Promise<void> }).ready?.() ?? Promise.resolve();
}

/**
 * One broadcast of a turn: its data, channels (none: every channel), users, idempotency
 * key; `bad`: a value that cannot be encoded instead.
 */
export interface TurnItem {
  value: string;
  channels?: string[];
  users?: string[];
  key?: string;
  bad?: 'bigint' | 'circular';
}

/** `each`: called and awaited one by one; `fire`: all called in one turn, not awaited; `all`: all called in one turn, then awaited together. */
export type TurnMode = 'each' | 'fire' | 'all';

export interface Settlement {
  value: string;
  at: number;
  outcome: 'accepted' | 'rejected';
  error?: { name: string; message: string };
}

function eventOf(item: TurnItem): unknown {
  if (item.bad === 'bigint') return { event: 'n', data: { value: item.value, big: 10n } };
  if (item.bad === 'circular') {
    const data: Record<string, unknown> = { value: item.value };
    data.self = data;
    return { event: 'n', data };
  }
  return { event: 'n', data: item.value };
}

/** Broadcasts a turn on `hub` as `mode` says; tells when each call was made and how it settled. Resolves when the turn is over. */
export async function runTurn(
  hub: SseHub,
  items: TurnItem[],
  mode: TurnMode,
  called: (value: string, at: number) => void,
  settled: (settlement: Settlement) => void,
): Promise<void> {
  const one = (item: TurnItem): Promise<void> => {
    called(item.value, Date.now());
    let promise: Promise<void>;
    try {
      promise = hub.broadcast(eventOf(item), {
        channels: item.channels,
        users: item.users,
        idempotencyKey: item.key,
      });
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.then(
      () => settled({ value: item.value, at: Date.now(), outcome: 'accepted' }),
      (error: unknown) =>
        settled({
          value: item.value,
          at: Date.now(),
          outcome: 'rejected',
          error: {
            name: (error as Error)?.name ?? typeof error,
            message: String((error as Error)?.message ?? error),
          },
        }),
    );
  };
  if (mode === 'each') {
    for (const item of items) await one(item);
    return;
  }
  const all = items.map(one);
  if (mode === 'all') await Promise.all(all);
}
