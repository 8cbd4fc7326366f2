import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  ForbiddenException,
  HttpStatus,
  Injectable,
  NotFoundException,
  Param,
  ParseIntPipe,
  UnauthorizedException,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { concat, defer, map, of, Subject, throwError, timer } from 'rxjs';
import { ConnectedClient, SseClient, type SseCloseReason, type SseGateway, SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

@Injectable()
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

class TeapotError extends Error {}

@Catch(TeapotError)
@Injectable()
class TeapotFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  // Through the adapter, as Nest's docs write platform-neutral filters (Express or Fastify).
  catch(_error: TeapotError, host: ArgumentsHost) {
    this.adapterHost.httpAdapter.reply(
      host.switchToHttp().getResponse(),
      { teapot: true },
      HttpStatus.I_AM_A_TEAPOT,
    );
  }
}

let later = new Subject<unknown>();
const closes: Array<[string, SseCloseReason]> = [];

@Controller('errors')
class ErrorsController implements SseGateway {
  @UseGuards(DenyGuard)
  @SseRoute('guarded')
  guarded() {
    return of('never');
  }

  @SseRoute('pipe/:n')
  pipe(@Param('n', ParseIntPipe) n: number) {
    return of(n);
  }

  @SseRoute('throws')
  throws() {
    throw new NotFoundException('No such room');
  }

  @SseRoute('rejects')
  async rejects() {
    await new Promise((resolve) => setImmediate(resolve));
    throw new ForbiddenException('Not your room');
  }

  @SseRoute('throw-error')
  throwError() {
    return throwError(() => new NotFoundException('Gone'));
  }

  @SseRoute('internal')
  internal() {
    throw new Error('secret database password in this message');
  }

  @UseFilters(TeapotFilter)
  @SseRoute('filtered')
  filtered() {
    throw new TeapotError();
  }

  @SseRoute('fails-later')
  failsLater() {
    later = new Subject<unknown>();
    return concat(
      of('first'),
      defer(() => later),
    );
  }

  @SseRoute('join/:mode')
  join(@Param('mode') _mode: string) {
    return of('handler value');
  }

  @SseRoute('bad-value')
  badValue() {
    return concat(of('ok'), timer(1).pipe(map(() => ({ event: 'bad\nname', data: 1 }))));
  }

  onJoin(client: SseClient) {
    const mode = client.request.params?.mode;
    if (mode === 'http') throw new ForbiddenException('Members only');
    if (mode === 'crash') throw new Error('internal detail');
    return undefined;
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.push([client.request.url, reason]);
  }
}

@Controller('errors2')
class ClientController {
  @SseRoute('client')
  client(@ConnectedClient() client: SseClient) {
    return of(client.id);
  }
}

describe('errors: a real HTTP status before the first byte, one error event after', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp({ controllers: [ErrorsController, ClientController] })));
  afterAll(() => t.app.close());
  afterEach(() => {
    // The interceptor owns the response: Nest never writes on top of a stream.
    expect(t.logger.headersSentErrors()).toEqual([]);
  });

  async function statusOf(path: string) {
    const stream = await openSseStream(t.url, path);
    await stream.closed();
    return { status: stream.status, body: stream.body, type: stream.headers['content-type'] };
  }

  it('a guard that refuses gives 403', async () => {
    expect(await statusOf('/errors/guarded')).toMatchObject({
      status: 403,
      type: expect.stringContaining('application/json'),
    });
  });

  it('a failing pipe gives 400', async () => {
    expect(await statusOf('/errors/pipe/abc')).toMatchObject({ status: 400 });
  });

  it('an HttpException thrown by the handler gives its status and message', async () => {
    const { status, body } = await statusOf('/errors/throws');
    expect(status).toBe(404);
    expect(JSON.parse(body)).toMatchObject({ statusCode: 404, message: 'No such room' });
  });

  it('an async handler that rejects with an HttpException gives its status', async () => {
    expect(await statusOf('/errors/rejects')).toMatchObject({ status: 403 });
  });

  it('an Observable that fails at once gives its status, not a 200 stream', async () => {
    expect(await statusOf('/errors/throw-error')).toMatchObject({ status: 404 });
  });

  it('an unknown error gives a 500 without its message or stack', async () => {
    const { status, body } = await statusOf('/errors/internal');
    expect(status).toBe(500);
    expect(body).not.toContain('secret');
    expect(body).not.toMatch(/at .*\.ts/);
  });

  it('exception filters still apply', async () => {
    expect(await statusOf('/errors/filtered')).toMatchObject({ status: 418, body: '{"teapot":true}' });
  });

  it('onJoin throwing an HttpException gives its status, and onClose sees "error"', async () => {
    closes.length = 0;
    expect(await statusOf('/errors/join/http')).toMatchObject({ status: 403 });
    expect(closes).toEqual([['/errors/join/http', 'error']]);
  });

  it('onJoin throwing anything else gives 500', async () => {
    const { status, body } = await statusOf('/errors/join/crash');
    expect(status).toBe(500);
    expect(body).not.toContain('internal detail');
  });

  it('an error after the stream started sends one safe error event, ends the stream and is logged', async () => {
    const stream = await openSseStream(t.url, '/errors/fails-later');
    expect(await stream.nextEvent()).toMatchObject({ data: 'first' });
    later.error(new Error('connection string postgres://user:pw@db'));
    await stream.closed();
    expect(stream.status).toBe(200);
    expect(stream.received.filter((m) => m.type === 'event')).toEqual([
      { type: 'event', event: undefined, id: undefined, data: 'first' },
      {
        type: 'event',
        event: 'error',
        id: undefined,
        data: '{"statusCode":500,"message":"Internal server error"}',
      },
    ]);
    expect(stream.body).not.toContain('postgres');
    expect(t.logger.errors().join('\n')).toContain('postgres://user:pw@db');
  });

  it('an HttpException after the start sends its status and message, but not the message of an Error it wraps', async () => {
    const stream = await openSseStream(t.url, '/errors/fails-later');
    await stream.nextEvent();
    later.error(new ForbiddenException('Room closed'));
    await stream.closed();
    expect(stream.received.at(-1)).toEqual({
      type: 'event',
      event: 'error',
      id: undefined,
      data: '{"statusCode":403,"message":"Room closed"}',
    });

    const wrapped = await openSseStream(t.url, '/errors/fails-later');
    await wrapped.nextEvent();
    later.error(new UnauthorizedException(new Error('token signature key ABC')));
    await wrapped.closed();
    expect(wrapped.received.at(-1)).toEqual({
      type: 'event',
      event: 'error',
      id: undefined,
      data: '{"statusCode":401,"message":"Unauthorized"}',
    });
  });

  it('a value that cannot be encoded ends the stream with an error event and a log line naming the field', async () => {
    const stream = await openSseStream(t.url, '/errors/bad-value');
    await stream.closed();
    expect(
      stream.received.filter((m) => m.type === 'event').map((m) => m.type === 'event' && m.event),
    ).toEqual([undefined, 'error']);
    expect(t.logger.errors().join('\n')).toMatch(/"event" cannot contain a line break/);
  });

  it('@ConnectedClient() hands the handler its client', async () => {
    const stream = await openSseStream(t.url, '/errors2/client');
    const { data } = await stream.nextEvent();
    expect(data).toMatch(/^[0-9a-f-]{36}$/);
    await stream.closed();
  });
});
