import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  Injectable,
  RequestMethod,
  ServiceUnavailableException,
  UnauthorizedException,
  UseGuards,
  Body,
  InternalServerErrorException,
  Headers,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { of } from 'rxjs';
import { type IncomingMessage } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type SseClient, type SseGateway, SseHub, SseModule, SseRoute } from 'nestjs-sse-hub';
import {
  createSseClient,
  type SseClientError,
  type SseClientStream,
  type SseEventMeta,
} from 'nestjs-sse-hub/client';
import { startApp, type TestApp } from './support/start-app';

// The client (nestjs-sse-hub/client) in Node's fetch against a real Nest app: a guard that
// reads a bearer token, a route whose streams belong to users, and answers that must stop
// it (401, 403, 404, 204, not an event stream) or make it retry (5xx, a dropped connection).

interface ChatEvents {
  welcome: { user: string };
  message: { text: string };
  note: string;
}

/** Bearer tokens the guard accepts, and whose they are. */
const tokens = new Map<string, string>();
/** What the 5xx guard answers next (then it lets requests through). */
const failures: number[] = [];

@Injectable()
class BearerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest();
    const [scheme, token] = String(req.headers.authorization ?? '').split(' ');
    const user = scheme === 'Bearer' ? tokens.get(token) : undefined;
    if (!user) throw new UnauthorizedException('A valid bearer token is needed.');
    req.user = { id: user };
    return true;
  }
}

@Injectable()
class FlakyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const code = failures.shift();
    if (code === 429) {
      context.switchToHttp().getResponse().setHeader('retry-after', '600');
      throw new HttpException('Too many streams', 429);
    }
    if (code === 503) throw new ServiceUnavailableException();
    if (code === 500) throw new InternalServerErrorException();
    return true;
  }
}

@Injectable()
class NobodyGuard implements CanActivate {
  canActivate(): boolean {
    throw new ForbiddenException();
  }
}

@Controller('client')
class ClientController implements SseGateway<ChatEvents> {
  @SseRoute('chat', { channels: ['chat'], user: (req) => (req as any).user.id, retry: 20 })
  @UseGuards(BearerGuard)
  chat() {}

  @SseRoute('slow-retry', { channels: ['chat'], user: (req) => (req as any).user.id, retry: 1 })
  @UseGuards(BearerGuard)
  slowRetry() {}

  @SseRoute('flaky', { channels: ['chat'], retry: 20 })
  @UseGuards(FlakyGuard)
  flaky() {}

  @SseRoute('forbidden', { channels: ['chat'] })
  @UseGuards(NobodyGuard)
  forbidden() {}

  // An app's own id, past Latin-1, then the end: the client must come back with it.
  @SseRoute('unicode-id', { retry: 20 })
  unicodeId(@Headers('last-event-id') lastEventId?: string) {
    return of({ event: 'note', id: '日本-1', data: lastEventId ?? 'none' });
  }

  @SseRoute('post', { method: RequestMethod.POST, retry: 20 })
  post(@Body() body: { name: string }) {
    return of({ event: 'note', data: `hello ${body.name}` });
  }

  @Get('no-content')
  @HttpCode(204)
  noContent() {}

  @Get('json')
  json() {
    return { not: 'a stream' };
  }

  onJoin(client: SseClient) {
    return { event: 'welcome', data: { user: client.user ?? 'nobody' } };
  }
}

/** What the server saw: every request, by path, with its headers. */
const requests: Array<{ path: string; method: string; headers: IncomingMessage['headers'] }> = [];
const requestsTo = (path: string) => requests.filter((request) => request.path === path);

/** Resolves on the first value `take` does not return undefined for, from events of one stream. */
function next<T>(
  stream: SseClientStream<any>,
  event: string,
  take: (data: any, meta: SseEventMeta) => T | undefined = (data) => data,
): Promise<T> {
  return new Promise((resolve) => {
    const off = stream.on(event, (data, meta) => {
      const value = take(data, meta);
      if (value === undefined) return;
      off();
      resolve(value);
    });
  });
}
const nextError = (stream: SseClientStream<any>) =>
  new Promise<SseClientError>((resolve) => {
    const off = stream.onError((error) => {
      off();
      resolve(error);
    });
  });

/** What no event can announce (a request that never comes): long enough for several retries of 10 ms. */
const QUIET = 500;

describe('createSseClient (nestjs-sse-hub/client) against a Nest app', () => {
  let t: TestApp;
  let hub: SseHub<ChatEvents>;
  let url: string;
  const streams: Array<SseClientStream<any>> = [];
  const open = <E = ChatEvents>(path: string, options: Parameters<typeof createSseClient>[1] = {}) => {
    const stream = createSseClient<E>(`${url}${path}`, { retry: 10, ...options });
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    t = await startApp(
      { controllers: [ClientController], providers: [BearerGuard, FlakyGuard] },
      { history: { size: 100 } },
    );
    hub = t.app.get(SseHub);
    url = t.url;
    t.app
      .getHttpServer()
      .on('request', (req: IncomingMessage) =>
        requests.push({ path: req.url!.split('?')[0], method: req.method!, headers: req.headers }),
      );
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
    requests.length = 0;
    tokens.clear();
  });
  afterAll(() => t.app.close());

  it('sends the headers, and types and parses events: JSON to values, other data as the string', async () => {
    tokens.set('ann-token', 'ann');
    const stream = open('/client/chat', { headers: { authorization: 'Bearer ann-token' } });
    expect(stream.status).toBe('connecting');
    expect(await next(stream, 'welcome')).toEqual({ user: 'ann' });
    expect(stream.status).toBe('open');
    const message = next(stream, 'message', (data, meta) => ({ data, meta }));
    const note = next(stream, 'note');
    await hub.broadcast({ event: 'message', data: { text: 'hi' } });
    await hub.broadcast({ event: 'note', data: 'plain words' });
    const got = await message;
    expect(got.data).toEqual({ text: 'hi' });
    expect(got.meta).toEqual({ event: 'message', id: expect.any(String), data: '{"text":"hi"}' });
    expect(await note).toBe('plain words');
    expect(stream.lastEventId).toBeDefined();
    expect(requestsTo('/client/chat')[0].headers).toMatchObject({
      authorization: 'Bearer ann-token',
      accept: 'text/event-stream',
    });
  });

  it("names an event without event: 'message', and an untyped client takes any name", async () => {
    const stream = open<Record<string, any>>('/client/flaky');
    await next(stream, 'welcome');
    const untyped = t.app.get<SseHub>(SseHub);
    const message = next(stream, 'message', (data, meta) => ({ data, meta }));
    await untyped.broadcast('no name');
    expect(await message).toEqual({
      data: 'no name',
      meta: { event: 'message', id: expect.any(String), data: 'no name' },
    });
  });

  it('resumes after the server ends the stream: what was missed comes once, with a refreshed token', async () => {
    tokens.set('old', 'ann');
    let token = 'old';
    let attempts = 0;
    const seen: string[] = [];
    const stream = open('/client/chat', {
      headers: async () => {
        // The second attempt: the server's side of the stream is gone; what is broadcast now is missed.
        if (++attempts === 2) {
          await hub.broadcast({ event: 'message', data: { text: 'missed 1' } }, { users: 'ann' });
          await hub.broadcast({ event: 'message', data: { text: 'missed 2' } });
        }
        return { authorization: `Bearer ${token}` };
      },
    });
    stream.on('message', (data) => seen.push(data.text));
    await next(stream, 'welcome');
    await hub.broadcast({ event: 'message', data: { text: 'live 1' } });
    await next(stream, 'message', (data) => (data.text === 'live 1' ? true : undefined));
    const before = stream.lastEventId;
    // Logout-and-login of the same user: the old token is refused from now on.
    tokens.delete('old');
    tokens.set('new', 'ann');
    token = 'new';
    // Waited for from now: the missed events may come in the same chunk as the welcome.
    const missed = next(stream, 'message', (data) => (data.text === 'missed 2' ? true : undefined));
    await hub.closeUser('ann');
    await missed;
    await hub.broadcast({ event: 'message', data: { text: 'live 2' } });
    await next(stream, 'message', (data) => (data.text === 'live 2' ? true : undefined));
    expect(seen).toEqual(['live 1', 'missed 1', 'missed 2', 'live 2']);
    const [first, second] = requestsTo('/client/chat');
    expect(first.headers['last-event-id']).toBeUndefined();
    expect(second.headers).toMatchObject({ authorization: 'Bearer new', 'last-event-id': before });
    expect(requestsTo('/client/chat')).toHaveLength(2);
  });

  it("waits the server's retry: rather than its own delay", async () => {
    tokens.set('bob-token', 'bob');
    // Ten minutes of its own: only the server's `retry: 1` lets it back before the test's timeout.
    const stream = open('/client/slow-retry', {
      headers: { authorization: 'Bearer bob-token' },
      retry: 600_000,
    });
    await next(stream, 'welcome');
    const again = next(stream, 'welcome');
    await hub.closeUser('bob');
    await again;
    expect(requestsTo('/client/slow-retry')).toHaveLength(2);
  });

  it.each([
    ['401 without a valid token', '/client/chat', 401],
    ['403 from a guard', '/client/forbidden', 403],
    ['404 for no route', '/client/nowhere', 404],
    ['204 No Content', '/client/no-content', 204],
  ])('stops on %s, says why, and asks no more', async (_, path, status) => {
    const stream = open(path, { headers: { authorization: 'Bearer forged' } });
    let now: string | undefined;
    stream.onError(() => (now = stream.status));
    const error = await nextError(stream);
    expect(now).toBe('closed');
    expect(error).toMatchObject({ name: 'SseClientError', status, willRetry: false });
    expect(error.message).toContain(String(status));
    expect(stream.status).toBe('closed');
    await sleep(QUIET);
    expect(requestsTo(path)).toHaveLength(1);
  });

  it('stops on a 200 that is not an event stream, naming the Content-Type it got', async () => {
    const stream = open('/client/json');
    const error = await nextError(stream);
    expect(error).toMatchObject({ status: 200, willRetry: false });
    expect(error.message).toContain('application/json');
    expect(stream.status).toBe('closed');
    await sleep(QUIET);
    expect(requestsTo('/client/json')).toHaveLength(1);
  });

  it('retries 5xx answers, telling onError each time, until the stream opens', async () => {
    failures.push(503, 500);
    const errors: Array<{ status?: number; willRetry: boolean; now: string }> = [];
    const stream = open('/client/flaky');
    // Told while it waits to reconnect: 'connecting', not 'open' nor 'closed'.
    stream.onError(({ status, willRetry }) => errors.push({ status, willRetry, now: stream.status }));
    expect(await next(stream, 'welcome')).toEqual({ user: 'nobody' });
    expect(errors).toEqual([
      { status: 503, willRetry: true, now: 'connecting' },
      { status: 500, willRetry: true, now: 'connecting' },
    ]);
    expect(requestsTo('/client/flaky')).toHaveLength(3);
  });

  it('waits the Retry-After of a 429 rather than its own delay', async () => {
    failures.push(429);
    const stream = open('/client/flaky');
    const error = await nextError(stream);
    expect(error).toMatchObject({ status: 429, willRetry: true });
    expect(stream.status).toBe('connecting');
    // Its own delay is 10 ms: only the server's ten minutes keep it from asking again.
    await sleep(QUIET);
    expect(requestsTo('/client/flaky')).toHaveLength(1);
  });

  it('retries while nothing listens on the port, and connects once the server is up', async () => {
    const port = await freePort();
    const late = createSseClient<ChatEvents>(`http://127.0.0.1:${port}/client/flaky`, {
      retry: 10,
      maxRetryDelay: 50,
    });
    streams.push(late);
    const error = await nextError(late);
    expect(error).toMatchObject({ willRetry: true, status: undefined });
    expect(error.cause).toBeDefined();
    const moduleRef = await Test.createTestingModule({
      imports: [SseModule.forRoot()],
      controllers: [ClientController],
      providers: [FlakyGuard],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(port, '127.0.0.1');
    try {
      expect(await next(late, 'welcome')).toEqual({ user: 'nobody' });
      expect(late.status).toBe('open');
    } finally {
      late.close();
      await app.close();
    }
  });

  it('reconnects after the connection is reset mid-stream, from the last event it got', async () => {
    const sockets: Socket[] = [];
    const grab = (req: IncomingMessage) => sockets.push(req.socket);
    t.app.getHttpServer().on('request', grab);
    try {
      const errors: SseClientError[] = [];
      const stream = open('/client/flaky');
      stream.onError((error) => errors.push(error));
      await next(stream, 'welcome');
      await hub.broadcast({ event: 'message', data: { text: 'before' } });
      await next(stream, 'message');
      const before = stream.lastEventId;
      const welcomed = next(stream, 'welcome');
      sockets[0].resetAndDestroy();
      await welcomed;
      // Node's fetch may read a reset of this response as its end, or as an error: either way it comes back.
      for (const error of errors) expect(error).toMatchObject({ willRetry: true, status: undefined });
      expect(stream.status).toBe('open');
      expect(requestsTo('/client/flaky')[1].headers['last-event-id']).toBe(before);
    } finally {
      t.app.getHttpServer().off('request', grab);
    }
  });

  it('stops for good on close() and on its signal: no more requests, no onError', async () => {
    for (const stop of ['close', 'abort'] as const) {
      requests.length = 0;
      const controller = new AbortController();
      const stream = open('/client/flaky', { signal: controller.signal });
      const errors: SseClientError[] = [];
      stream.onError((error) => errors.push(error));
      await next(stream, 'welcome');
      if (stop === 'close') stream.close();
      else controller.abort();
      expect(stream.status).toBe('closed');
      await sleep(QUIET);
      expect(requestsTo('/client/flaky')).toHaveLength(1);
      expect(errors).toEqual([]);
    }
  });

  it('does not start with a signal already aborted', async () => {
    const stream = open('/client/flaky', { signal: AbortSignal.abort() });
    expect(stream.status).toBe('closed');
    await sleep(QUIET);
    expect(requestsTo('/client/flaky')).toHaveLength(0);
  });

  it('refuses a relative URL outside a page at once, rather than retrying a fetch that can never start', () => {
    expect(() => createSseClient('/client/flaky')).toThrow(
      /not a URL: outside a page \(in Node\), give an absolute one/,
    );
    expect(requestsTo('/client/flaky')).toHaveLength(0);
  });

  it('sends an id past Latin-1 back as its UTF-8 bytes, as EventSource does, rather than failing every reconnect', async () => {
    const stream = open('/client/unicode-id');
    expect(await next(stream, 'note')).toBe('none');
    expect(stream.lastEventId).toBe('日本-1');
    // Node reads a header's bytes as Latin-1: the UTF-8 bytes of the id, as sent.
    expect(await next(stream, 'note')).toBe(Buffer.from('日本-1').toString('latin1'));
  });

  it('reads nothing from a request that a close() overtook, even through a fetch that ignores the signal', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let answered!: Promise<Response>;
    const seen: unknown[] = [];
    const stream = open('/client/flaky', {
      fetch: (input, init) => (answered = gate.then(() => fetch(input, { ...init, signal: undefined }))),
    });
    stream.on('welcome', (data) => seen.push(data));
    stream.close();
    release();
    await answered;
    await sleep(QUIET);
    expect(stream.status).toBe('closed');
    expect(seen).toEqual([]);
    expect(requestsTo('/client/flaky')).toHaveLength(1);
  });

  it('sends a POST with its body, through a custom fetch, on every attempt', async () => {
    let calls = 0;
    const stream = open('/client/post', {
      method: 'POST',
      body: JSON.stringify({ name: 'ann' }),
      headers: { 'content-type': 'application/json' },
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
    });
    // The handler's events end the stream: the client comes back with the same body.
    expect(await next(stream, 'note')).toBe('hello ann');
    expect(await next(stream, 'note')).toBe('hello ann');
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(requestsTo('/client/post').every((request) => request.method === 'POST')).toBe(true);
  });

  it('keeps going when a listener throws: the other listeners and the next events still come', async () => {
    const reported: unknown[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((error) => void reported.push(error));
    try {
      const stream = open('/client/flaky');
      stream.on('message', () => {
        throw new Error('a broken listener');
      });
      const seen: string[] = [];
      stream.on('message', (data) => seen.push(data.text));
      await next(stream, 'welcome');
      await hub.broadcast({ event: 'message', data: { text: 'one' } });
      await hub.broadcast({ event: 'message', data: { text: 'two' } });
      await next(stream, 'message', (data) => (data.text === 'two' ? true : undefined));
      expect(seen).toEqual(['one', 'two']);
      expect(reported).toEqual([new Error('a broken listener'), new Error('a broken listener')]);
      expect(stream.status).toBe('open');
    } finally {
      spy.mockRestore();
    }
  });
});

/** A loopback port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
