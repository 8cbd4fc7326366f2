import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { SseTransportUnavailableError } from 'nestjs-sse-hub/redis';
import { drop } from './raw-http';

/** Where Debian's redis-server package puts it; `npm test` installs it (test/support/ensure-tools.sh). */
export function findRedisServer(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** A real redis-server on a loopback port, without persistence, that a test can stop and restart. */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly binary: string,
    readonly port: number,
    private readonly extra: string[],
  ) {}

  /** `extra`: more arguments for redis-server (a cluster node's); `port`: a given one. */
  static async start(binary = findRedisServer(), extra: string[] = [], port?: number): Promise<RedisServer> {
    if (!binary)
      throw new Error(
        'redis-server is not installed: run `npm test`, which installs it (Debian package redis-server).',
      );
    const server = new RedisServer(binary, port ?? (await freePort()), extra);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, empty: no persistence) and resolves once it accepts connections. */
  async restart(): Promise<void> {
    await this.stop();
    const child = spawn(
      this.binary,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        ...this.extra,
      ],
      {
        // Never the test run's own stdio: a server left behind must not hold CI's output open.
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

/** A TCP proxy in front of Redis whose connections the test can cut at will. */
export class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private readonly upstreams = new Set<Socket>();
  private server!: Server;
  port = 0;

  static async start(targetPort: number): Promise<CuttableProxy> {
    const proxy = new CuttableProxy();
    proxy.server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      proxy.upstreams.add(upstream);
      upstream.once('close', () => proxy.upstreams.delete(upstream));
      if (proxy.stalled) upstream.pause();
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on('error', () => {});
        socket.once('close', () => proxy.sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private stalled = false;

  /** Holds back what Redis sends through the proxy (as a reader that does not get to read would) until `resume()`. */
  stall(): void {
    this.stalled = true;
    for (const socket of this.upstreams) socket.pause();
  }

  resume(): void {
    this.stalled = false;
    for (const socket of this.upstreams) socket.resume();
  }

  /** Resets every connection through it, both sides, as a network failure would. */
  cut(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) drop(socket);
    this.sockets.clear();
    return count;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * Broadcasts `value` to `channels` and says whether the transport took it: false when it
 * refused, which while Redis is away must be `SseTransportUnavailableError` and nothing else.
 */
export function broadcastTaken(
  hub: { broadcast(value: unknown, options: { channels: string }): Promise<void> },
  value: unknown,
  channels: string,
): Promise<boolean> {
  return hub.broadcast(value, { channels }).then(
    () => true,
    (error: unknown) => {
      if (error instanceof SseTransportUnavailableError) return false;
      throw error;
    },
  );
}
