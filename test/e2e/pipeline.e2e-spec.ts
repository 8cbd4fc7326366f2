import {
  type CallHandler,
  Controller,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { finalize } from 'rxjs';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

const finished: string[] = [];

/** An app-wide interceptor, like a request logger: it sees when Nest is done with a request. */
@Injectable()
class FinishInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    const url = context.switchToHttp().getRequest().url;
    return next.handle().pipe(finalize(() => finished.push(url)));
  }
}

@Controller('pipeline')
class PipelineController {
  @SseRoute('events')
  events() {
    return 'started';
  }
}

describe("Nest's request pipeline does not outlive the stream's setup", () => {
  let t: TestApp;
  beforeAll(
    async () =>
      (t = await startApp({
        controllers: [PipelineController],
        providers: [{ provide: APP_INTERCEPTOR, useClass: FinishInterceptor }],
      })),
  );
  afterAll(() => t.app.close());

  it('finishes once the stream has started (so it can be collected), writes nothing on top, and the stream lives on', async () => {
    const stream = await openSseStream(t.url, '/pipeline/events');
    expect((await stream.nextEvent()).data).toBe('started');
    while (!finished.includes('/pipeline/events')) await new Promise((resolve) => setImmediate(resolve));
    await t.app.get(SseHub).broadcast('still open');
    expect((await stream.nextEvent()).data).toBe('still open');
    expect(stream.ended).toBe(false);
    expect(t.logger.headersSentErrors()).toEqual([]);
    expect(t.logger.errors()).toEqual([]);
    stream.close();
  });
});
