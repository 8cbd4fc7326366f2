import { type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { type ClientHttp2Session, connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { SseHub, SseModule, type SseModuleOptions } from 'nestjs-sse-hub';
import { SseConnectionLimiter } from '../../../src/internal';
import { SseTestStream } from 'nestjs-sse-hub/testing';
import { CaptureLogger } from './capture-logger';
import { platform } from './start-app';

/**
 * The servers an app can run on: plain TCP, TLS (`httpsOptions`), a Unix socket, and
 * HTTP/2 over cleartext (h2c) and TLS. HTTP/2 is Fastify's (Express has none).
 */
export type ServerKind = 'tcp' | 'tls' | 'unix' | 'h2c' | 'h2';

export function serverKinds(): ServerKind[] {
  return platform() === 'fastify' ? ['tcp', 'tls', 'unix', 'h2c', 'h2'] : ['tcp', 'tls', 'unix'];
}

/** The HTTP/1.1 kinds, for request shapes HTTP/2 does not have (pipelining, raw request bytes). */
export function http1Kinds(): ServerKind[] {
  return serverKinds().filter((kind) => kind === 'tcp' || kind === 'tls' || kind === 'unix');
}

// A self-signed certificate for localhost and 127.0.0.1, valid until 2126, made for these tests only.
const TLS_DIR = resolve('test/e2e/support/tls');
export const TLS = {
  key: readFileSync(join(TLS_DIR, 'key.pem')),
  cert: readFileSync(join(TLS_DIR, 'cert.pem')),
};

let unixSockets = 0;

/** An app on one kind of server, with what the invariants are checked against. */
export class KindApp {
  private h2session: ClientHttp2Session | undefined;

  private constructor(
    readonly kind: ServerKind,
    readonly app: INestApplication,
    readonly logger: CaptureLogger,
    /** Where it listens: a port on 127.0.0.1, or a Unix socket path. */
    readonly address: { port?: number; path?: string },
  ) {}

  static async start(
    kind: ServerKind,
    metadata: ModuleMetadata,
    options: SseModuleOptions = {},
  ): Promise<KindApp> {
    const moduleRef = await Test.createTestingModule({
      ...metadata,
      imports: [SseModule.forRoot(options), ...(metadata.imports ?? [])],
    }).compile();
    const logger = new CaptureLogger();
    const tls = kind === 'tls' || kind === 'h2';
    let app: INestApplication;
    if (platform() === 'fastify') {
      const http2 = kind === 'h2c' || kind === 'h2';
      const adapter = new FastifyAdapter({
        ...(http2 && { http2: true }),
        ...(tls && { https: { ...TLS, allowHTTP1: true } }),
      } as any);
      app = moduleRef.createNestApplication(adapter, { logger });
    } else {
      app = moduleRef.createNestApplication({ logger, ...(tls && { httpsOptions: TLS }) });
    }
    let address: { port?: number; path?: string };
    if (kind === 'unix') {
      const path = join(tmpdir(), `sse-hub-${process.pid}-${++unixSockets}.sock`);
      rmSync(path, { force: true });
      await (platform() === 'fastify' ? app.listen({ path } as any) : app.listen(path));
      address = { path };
    } else {
      await app.listen(0, '127.0.0.1');
      address = { port: (app.getHttpServer().address() as { port: number }).port };
    }
    return new KindApp(kind, app, logger, address);
  }

  get hub(): SseHub {
    return this.app.get(SseHub);
  }

  get limiter(): SseConnectionLimiter {
    return this.app.get(SseConnectionLimiter);
  }

  get server(): Server {
    return this.app.getHttpServer();
  }

  get http2(): boolean {
    return this.kind === 'h2c' || this.kind === 'h2';
  }

  /** A new raw connection to the server, as a client would open it. */
  connect(): Promise<Socket> {
    const { port, path } = this.address;
    const socket =
      this.kind === 'tls' || this.kind === 'h2'
        ? tlsConnect({
            port,
            host: '127.0.0.1',
            ca: TLS.cert,
            servername: 'localhost',
            ALPNProtocols: this.kind === 'h2' ? ['h2'] : ['http/1.1'],
          })
        : path
          ? netConnect(path)
          : netConnect(port!, '127.0.0.1');
    socket.on('error', () => {});
    return new Promise((resolve) =>
      socket.once(this.kind === 'tls' || this.kind === 'h2' ? 'secureConnect' : 'connect', () =>
        resolve(socket),
      ),
    );
  }

  /** Opens an event stream with a client of this kind, and resolves once the response headers are in. */
  async open(
    path: string,
    headers: Record<string, string> = {},
    { timeout = 10_000, method = 'GET' } = {},
  ): Promise<SseTestStream> {
    if (this.http2) return this.openHttp2(path, headers, timeout, method);
    const socket = await this.connect();
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        path,
        method,
        headers: { accept: 'text/event-stream', host: 'localhost', ...headers },
        createConnection: () => socket,
      });
      req.once('response', (response: IncomingMessage) => resolve(new SseTestStream(response, timeout)));
      req.once('error', reject);
      req.end();
    });
  }

  private async openHttp2(
    path: string,
    headers: Record<string, string>,
    timeout: number,
    method: string,
  ): Promise<SseTestStream> {
    const session = await this.session();
    const stream = session.request(
      { ':path': path, ':method': method, accept: 'text/event-stream', ...headers },
      { endStream: true },
    );
    return new Promise((resolve, reject) => {
      stream.once('error', reject);
      stream.once('response', (responseHeaders) => {
        const status = Number(responseHeaders[':status']);
        resolve(
          new SseTestStream(
            {
              body: stream as unknown as Readable,
              statusCode: status,
              headers: responseHeaders,
              close: () => stream.close(h2.NGHTTP2_CANCEL),
            },
            timeout,
          ),
        );
      });
    });
  }

  /** One HTTP/2 session for the app, with a browser's connection window. */
  async session(): Promise<ClientHttp2Session> {
    if (this.h2session && !this.h2session.destroyed) return this.h2session;
    const session = http2Connect(
      `${this.kind === 'h2' ? 'https' : 'http'}://127.0.0.1:${this.address.port}`,
      { ca: TLS.cert, servername: 'localhost' } as any,
    );
    session.on('error', () => {});
    this.h2session = session;
    await new Promise((resolve) => session.once('connect', resolve));
    session.setLocalWindowSize(16 * 1024 * 1024);
    return session;
  }

  /** Open connections to the server, as it counts them. */
  connections(): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
  }

  async close(): Promise<void> {
    this.h2session?.destroy();
    await this.app.close();
    if (this.address.path) rmSync(this.address.path, { force: true });
  }
}

/** Waits, turn by turn, until `condition` holds; fails with `what` after `ms`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Still not true after ${ms} ms: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
