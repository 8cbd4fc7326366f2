import { type SseBroadcastMessage, type SseHistoryResult, type SseHubMessage } from '../hub';
import { type MessageRow, type PageRow, type PostgresTable } from './postgres-table';

/** A broadcast id: the row's position, in the form of the hub's ids (`<n>-0`). */
const POSITION_ID = /^([1-9]\d{0,14})-0$/;
/** Rows, and about how many bytes of messages, per page of a replay. */
const PAGE = 1000;
const PAGE_BYTES = 1024 * 1024;

/** Runs one statement on the transport's pool. */
type Query = <Row extends object>(text: string, values?: unknown[]) => Promise<{ rows: Row[] }>;

/**
 * Every broadcast after `lastEventId`, read in pages of about `PAGE_BYTES`: the row of
 * that id must still be there, and no row after the last one read may have been trimmed
 * meanwhile (the watermark, read with each page, says so), else it is a gap. With
 * `each`, the broadcasts go to it page by page and none are kept here.
 */
export async function readHistory(
  table: PostgresTable,
  query: Query,
  lastEventId: string,
  decode: (row: MessageRow) => SseHubMessage | undefined,
  each?: (message: SseBroadcastMessage) => boolean,
): Promise<SseHistoryResult> {
  const position = POSITION_ID.exec(lastEventId)?.[1];
  if (position === undefined) return { status: 'gap' };
  const { rows } = await query<MessageRow>(table.readQuery('at'), [position, 1]);
  if (rows[0]?.position !== position) return { status: 'gap' };
  const messages: SseBroadcastMessage[] = [];
  const take = each ?? ((message: SseBroadcastMessage) => messages.push(message) > 0);
  for (let cursor = position; ;) {
    const page = (await query<PageRow>(table.historyPageQuery(), [cursor, PAGE, PAGE_BYTES])).rows;
    // Rows after the cursor were trimmed since the last page: what came after it cannot be known whole.
    const trimmed = page[0]?.trimmed;
    if (trimmed !== null && trimmed !== undefined && BigInt(trimmed) > BigInt(cursor))
      return { status: 'gap' };
    if (page[0]?.position === null || page.length === 0) return { status: 'complete', messages };
    for (const row of page as MessageRow[]) {
      cursor = row.position;
      const message = decode(row);
      if (message?.type === 'broadcast' && !take(message)) return { status: 'gap' };
    }
  }
}
