import { type Client } from 'pg';
import { type SseHubMessage } from '../hub';
import { StoredMessageReader, type ThrottledLogger } from '../transport-kit';
import { type MessageRow, type PageRow, type PostgresTable } from './postgres-table';

/** Rows read per query. */
const PAGE = 1000;

/**
 * Reads the table from its cursor on the listener's connection and delivers what it reads,
 * whenever it is woken (a `NOTIFY`, the poll, a reconnect). The cursor outlives the
 * connection: a reader that comes back reads on from where it was.
 *
 * What trimming took before the reader got there is never missed in silence: each page
 * comes with the highest position trimming ever deleted, read in the same snapshot, and a
 * watermark past the cursor means rows were deleted unread. Then every client is sent a
 * resync, and the reader goes on after the watermark (every row up to it is gone for good).
 */
export class PostgresReader {
  private client: Client | undefined;
  /** The position of the last row delivered, or what trimming took past it ('0' before any). */
  private cursor = '0';
  private started = false;
  private stopped = false;
  private draining: Promise<void> | undefined;
  private wokenWhileDraining = false;
  private readonly rows: StoredMessageReader;

  constructor(
    private readonly table: PostgresTable,
    private readonly deliver: (message: SseHubMessage) => void,
    /** A read failed on the connection it still reads on: the connection is most likely lost. */
    private readonly onError: (error: unknown) => void,
    private readonly logger: ThrottledLogger,
    private readonly maxLen: number,
  ) {
    this.rows = new StoredMessageReader(logger, 'table', 'bad-row');
  }

  /** Whether it has a connection to read on. */
  get reading(): boolean {
    return this.client !== undefined;
  }

  /**
   * Reads on this connection from now on, starting with what came while it had none.
   * The first time, it starts after the newest row: what is published from then on.
   */
  async attach(client: Client): Promise<void> {
    if (!this.started) {
      const { rows } = await client.query<{ position: string }>(this.table.startQuery());
      this.cursor = rows[0]?.position ?? '0';
      this.started = true;
    }
    this.client = client;
    this.wake();
  }

  detach(client: Client): void {
    if (this.client === client) this.client = undefined;
  }

  /** Reads no more, once the read in progress is over. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.client = undefined;
    await this.draining;
  }

  /** Reads what is new; a wake-up while a read runs makes it read again. */
  wake(): void {
    if (!this.client || this.stopped) return;
    if (this.draining) {
      this.wokenWhileDraining = true;
      return;
    }
    this.draining = this.drain(this.client).finally(() => {
      this.draining = undefined;
      // Woken for a connection that came while the last one's read was failing: read on it now.
      if (this.wokenWhileDraining) this.wake();
    });
  }

  /** A row as a hub message (a broadcast with its position as id), or undefined (logged) for a row that is not one. */
  decode(row: MessageRow): SseHubMessage | undefined {
    return this.rows.read(row.message, `${row.position}-0`, `Row ${row.position} of ${this.table.name}`);
  }

  private async drain(client: Client): Promise<void> {
    try {
      do {
        this.wokenWhileDraining = false;
        while ((await this.readPage(client)) === PAGE && !this.stopped);
      } while (this.wokenWhileDraining && !this.stopped && this.client === client);
    } catch (error) {
      // The connection is lost: the transport reconnects, and reading goes on from the cursor.
      if (!this.stopped && this.client === client) this.onError(error);
    }
  }

  /** Reads and delivers the rows after the cursor; returns how many it read. */
  private async readPage(client: Client): Promise<number> {
    const { rows } = await client.query<PageRow>(this.table.pageQuery(), [this.cursor, PAGE]);
    const trimmed = rows[0]?.trimmed ?? '0';
    if (BigInt(trimmed) > BigInt(this.cursor)) {
      this.missed(
        `the messages after ${this.cursor}-0, up to ${trimmed}-0, were trimmed before its reader got to them ` +
          `(it fell more than maxLen, ${this.maxLen}, behind)`,
      );
      this.cursor = trimmed;
    }
    const found = rows.filter(
      (row): row is MessageRow & PageRow => row.position !== null && row.message !== null,
    );
    if (found.length === 0) {
      await this.checkStartedOver(client);
      return 0;
    }
    for (const row of found) {
      this.cursor = row.position;
      const message = this.decode(row);
      if (message) this.deliver(message);
    }
    return found.length;
  }

  /** A table dropped and made again starts its positions over: the reader must too. */
  private async checkStartedOver(client: Client): Promise<void> {
    const { rows } = await client.query<{ position: string | null }>(this.table.newestQuery());
    const newest = rows[0]?.position;
    if (newest === null || newest === undefined || BigInt(newest) >= BigInt(this.cursor)) return;
    this.missed(
      `the table started over (its newest position, ${newest}, is before this instance's cursor, ${this.cursor})`,
    );
    this.cursor = '0';
  }

  private missed(why: string): void {
    this.logger.error(
      'reader-lag',
      `This instance may have missed messages of ${this.table.name}: ${why}. ` +
        'Every client on this instance is sent a resync. Raise maxLen if bursts are this large.',
    );
    this.deliver({ type: 'resync', reason: why });
  }
}
