import { Controller, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventSource } from 'eventsource';
import { of } from 'rxjs';
import {
  SseHub,
  SseModule,
  SseModuleImportedTwiceError,
  SseModuleMissingError,
  SseRoute,
} from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp } from './support/start-app';

@Controller('mod')
class ModuleController {
  @SseRoute('quiet')
  quiet() {
    return undefined;
  }

  @SseRoute('named')
  named() {
    return of({ event: 'greeting', id: 'g1', data: { hello: 'world' } }, 'plain\nmultiline');
  }
}

@Injectable()
class StreamConfig {
  readonly keepAlive = 30;
  readonly retry = 1234;
}

@Module({ providers: [StreamConfig], exports: [StreamConfig] })
class ConfigModule {}

describe('SseModule', () => {
  it('forRootAsync takes options from an injected factory', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SseModule.forRootAsync({
          imports: [ConfigModule],
          inject: [StreamConfig],
          useFactory: (config: StreamConfig) => ({ keepAlive: config.keepAlive, retry: config.retry }),
        }),
      ],
      controllers: [ModuleController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      // openSseStream starts an app that is not listening yet on a free loopback port.
      const stream = await openSseStream(app, '/mod/quiet');
      expect(await stream.next()).toEqual({ type: 'retry', retry: 1234 });
      expect(await stream.nextComment()).toBe('keepalive');
      stream.close();
    } finally {
      await app.close();
    }
  });

  it.each([
    [{ keepAlive: 0 }, /keepAlive must be a positive number of milliseconds or false, got 0/],
    [{ keepAlive: -5 }, /keepAlive/],
    [{ retry: 1.5 }, /retry must be a non-negative integer/],
  ])('refuses bad module options at start-up with a clear message: %p', async (options, message) => {
    await expect(
      Test.createTestingModule({ imports: [SseModule.forRoot(options)] }).compile(),
    ).rejects.toThrow(message);
  });

  it.each([
    ['forRoot() with no argument', () => SseModule.forRoot()],
    [
      'forRootAsync() whose factory gives nothing',
      () => SseModule.forRootAsync({ useFactory: () => undefined as never }),
    ],
  ])('%s runs with every default', async (_what, module) => {
    const moduleRef = await Test.createTestingModule({
      imports: [module()],
      controllers: [ModuleController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      const stream = await openSseStream(app, '/mod/named');
      expect((await stream.nextEvent()).event).toBe('greeting');
      stream.close();
    } finally {
      await app.close();
    }
  });

  it('refuses at start-up a second SseModule.forRoot() with other options, naming forRoot and both importers', async () => {
    @Module({ imports: [SseModule.forRoot({ keepAlive: 1_000 })] })
    class NotificationsModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [SseModule.forRoot({ retry: 2_000 }), NotificationsModule],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      const failure = app.init();
      await expect(failure).rejects.toThrow(SseModuleImportedTwiceError);
      await expect(failure).rejects.toThrow(/SseModule\.forRoot\(\).*imported 2 times.*NotificationsModule/s);
    } finally {
      await app.close();
    }
  });

  it('says what to import when an @SseRoute is used without SseModule.forRoot()', async () => {
    const starting = Test.createTestingModule({ controllers: [ModuleController] })
      .compile()
      .then((moduleRef) => moduleRef.createNestApplication({ logger: false }).init());
    await expect(starting).rejects.toThrow(SseModuleMissingError);
    await expect(starting).rejects.toThrow(/add SseModule\.forRoot\(\).*root module/);
  });

  it('takes the same SseModule.forRoot() imported by two modules as one module with one hub', async () => {
    const sse = SseModule.forRoot({ retry: 2_000 });
    @Module({ imports: [sse] })
    class NotificationsModule {}

    const moduleRef = await Test.createTestingModule({ imports: [sse, NotificationsModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await app.init();
      expect(app.select(NotificationsModule).get(SseHub)).toBe(app.get(SseHub));
    } finally {
      await app.close();
    }
  });

  it('refuses bad route options when the controller is declared', () => {
    expect(() => SseRoute('x', { retry: -1 })).toThrow(/@SseRoute\(\): retry must be a non-negative integer/);
    expect(() => SseRoute({ keepAlive: Number.NaN })).toThrow(/@SseRoute\(\): keepAlive/);
  });

  it('streams to the `eventsource` package, a client nobody here wrote', async () => {
    const { app, url } = await startApp({ controllers: [ModuleController] });
    const source = new EventSource(`${url}/mod/named`);
    try {
      const received = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        source.addEventListener('greeting', (event) =>
          seen.push(`greeting ${event.lastEventId} ${event.data}`),
        );
        source.addEventListener('message', (event) => {
          seen.push(`message ${event.data}`);
          resolve(seen);
        });
        source.addEventListener('error', () => reject(new Error('EventSource failed')));
      });
      expect(received).toEqual(['greeting g1 {"hello":"world"}', 'message plain\nmultiline']);
    } finally {
      source.close();
      await app.close();
    }
  });
});
