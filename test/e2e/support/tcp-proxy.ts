import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { drop } from './raw-http';

/** One direction of a connection: what it forwards, in order, after `delayMs`. */
class Direction {
  private readonly queue: Array<{ due: number; chunk: Buffer | null }> = [];
  private timer: NodeJS.Timeout | undefined;
  /** Paused by backpressure (the other side's buffer is full). */
  blocked = false;

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    private readonly proxy: TcpProxy,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk));
    // The other side's end after what came before it (PostgreSQL says why before it closes).
    from.once('end', () => this.push(null));
    to.on('drain', () => {
      this.blocked = false;
      this.proxy.flow(this);
    });
  }

  private push(chunk: Buffer | null): void {
    this.queue.push({ due: Date.now() + this.proxy.delayMs, chunk });
    this.drain();
  }

  private drain(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.queue[0].due <= Date.now()) {
      const { chunk } = this.queue.shift()!;
      if (this.to.destroyed) return;
      if (chunk === null) this.to.end();
      else if (!this.to.write(chunk)) {
        this.blocked = true;
        this.from.pause();
      }
    }
    if (this.queue.length > 0) this.timer = setTimeout(() => this.drain(), this.queue[0].due - Date.now());
  }

  clear(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

/**
 * A TCP proxy on a loopback port in front of one server (Redis, PostgreSQL), for the
 * fault matrix: it can reset every connection through it (RST, both sides), refuse new
 * ones for a while, stall (hold every byte, both ways), and slow (deliver every chunk
 * `delayMs` late, in order).
 */
export class TcpProxy {
  port = 0;
  /** Connections accepted so far. */
  accepted = 0;
  private server!: Server;
  private readonly directions = new Set<Direction>();
  private readonly sockets = new Set<Socket>();
  private refusingUntil = 0;
  /** Stalls and slow-downs in effect (they may overlap): the proxy flows when none is, at the largest delay. */
  private stalls = 0;
  private readonly delays = new Set<{ ms: number }>();

  private constructor(
    readonly targetPort: number,
    readonly targetHost: string,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, targetHost);
    proxy.server = createServer((client) => proxy.accept(client));
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (Date.now() < this.refusingUntil) return drop(client);
    this.accepted++;
    const upstream = connect(this.targetPort, this.targetHost);
    upstream.on('error', () => undefined);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
    }
    const both = [new Direction(client, upstream, this), new Direction(upstream, client, this)];
    for (const direction of both) {
      this.directions.add(direction);
      this.flow(direction);
    }
    const onClose = (socket: Socket, other: Socket) =>
      socket.once('close', (hadError) => {
        this.sockets.delete(socket);
        for (const direction of both) if (direction.from === socket) this.directions.delete(direction);
        // A reset, or an upstream that refused, is passed on as a reset; a clean end went through its direction.
        if (hadError) drop(other);
      });
    onClose(client, upstream);
    onClose(upstream, client);
  }

  /** Delay of every chunk now, in ms. */
  get delayMs(): number {
    return Math.max(0, ...[...this.delays].map((delay) => delay.ms));
  }

  /** Reads on `direction` unless stalled or held back by backpressure. */
  flow(direction: Direction): void {
    if (this.stalls > 0 || direction.blocked) direction.from.pause();
    else direction.from.resume();
  }

  /** Resets every connection through it, both sides, as a network failure would; how many there were. */
  cut(): number {
    const count = this.sockets.size / 2;
    for (const direction of this.directions) direction.clear();
    for (const socket of this.sockets) drop(socket);
    this.sockets.clear();
    this.directions.clear();
    return count;
  }

  /** Cuts every connection and resets new ones for `ms` (the server looks down). */
  refuse(ms: number): number {
    this.refusingUntil = Date.now() + ms;
    return this.cut();
  }

  /** Holds every byte both ways, on open connections and new ones, until as many `resume()`. */
  stall(): void {
    this.stalls++;
    for (const direction of this.directions) this.flow(direction);
  }

  resume(): void {
    this.stalls = Math.max(0, this.stalls - 1);
    for (const direction of this.directions) this.flow(direction);
  }

  /** Delivers every chunk `delayMs` late from now on, until the function it returns is called. */
  slow(delayMs: number): () => void {
    const delay = { ms: delayMs };
    this.delays.add(delay);
    return () => this.delays.delete(delay);
  }

  async close(): Promise<void> {
    // Stops listening, and resets what comes meanwhile: close resolves once every connection is gone.
    this.refusingUntil = Infinity;
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.cut();
    await closed;
  }
}
