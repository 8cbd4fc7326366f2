import type { Socket } from 'node:net';
import { resetSocket } from '../../../src/connection/reset-socket';

/** The head of an HTTP/1.1 response read off a raw connection, and what came after it. */
export interface RawResponseHead {
  status: number;
  headers: Record<string, string>;
  /** The bytes read past the blank line that ends the head. */
  rest: string;
}

/**
 * Reads bytes off `socket` until `done(text so far)` says it has enough; rejects if the
 * connection ends first or nothing more comes within `ms`.
 */
export function readUntil(
  socket: Socket,
  done: (text: string) => boolean,
  initial = '',
  ms = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = initial;
    if (done(text)) return resolve(text);
    const timer = setTimeout(
      () => finish(new Error(`Timed out after ${ms} ms; read so far: ${JSON.stringify(text.slice(0, 500))}`)),
      ms,
    );
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (done(text)) finish();
    };
    const onEnd = () =>
      finish(
        done(text)
          ? undefined
          : new Error(`The connection ended; read so far: ${JSON.stringify(text.slice(0, 500))}`),
      );
    function finish(error?: Error) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (error) reject(error);
      else resolve(text);
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** Reads one response head (status line and headers) off `socket`, after `initial` bytes already read. */
export async function readResponseHead(socket: Socket, initial = ''): Promise<RawResponseHead> {
  const text = await readUntil(socket, (read) => read.includes('\r\n\r\n'), initial);
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) throw new Error(`Not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(match[1]), headers, rest: text.slice(end + 4) };
}

/** An HTTP/1.1 request as raw bytes. */
export function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): string {
  const all = {
    host: 'localhost',
    accept: 'text/event-stream',
    ...headers,
    ...(body && { 'content-length': String(Buffer.byteLength(body)) }),
  };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n${body}`;
}

/** Drops a raw connection at once: a reset where the socket is plain TCP, else a close. */
export const drop: (socket: Socket) => void = resetSocket;
