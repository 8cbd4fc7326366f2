import 'reflect-metadata';
import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SseHub, SseModule } from '../../../src';
import {
  makeTransport,
  MATRIX_CONTROLLERS,
  MatrixController,
  runTurn,
  transportReady,
  type TransportConfig,
  type TurnItem,
  type TurnMode,
} from './fault-app';

/**
 * An instance of the fault matrix's app in a process of its own (started by
 * fault-instances.ts with ts-require.js, from the sources: no build), so that the test can
 * SIGSTOP it, read its own heap, and see it die. Driven over IPC: `start` an app on a
 * transport, broadcast a `turn`, read `presence`, `heap`, `runs`, `closeUser`, `endReasons`,
 * `abortRun`, `runStatus`, `stop`. It reports each call of a turn (`called`) and how it settled
 * (`settled`) as they happen.
 */

type Request =
  | { id: number; cmd: 'start'; config: TransportConfig }
  | { id: number; cmd: 'turn'; items: TurnItem[]; mode: TurnMode }
  | { id: number; cmd: 'abortRun' | 'runStatus'; key: string }
  | { id: number; cmd: 'closeUser'; user: string }
  | { id: number; cmd: 'presence' | 'heap' | 'up' | 'runs' | 'endReasons' | 'stop' | 'ping' };

let running: { app: INestApplication; hub: SseHub; dispose: () => void } | undefined;
/** The largest heap in use seen since the app started (sampled): a spike that a GC at the end would hide. */
let peak = 0;
setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 100).unref();

function send(message: object): void {
  process.send?.(message);
}

async function handle(request: Request): Promise<unknown> {
  switch (request.cmd) {
    case 'start': {
      const { transport, dispose } = makeTransport(request.config);
      @Module({ imports: [SseModule.forRoot({ transport })], controllers: MATRIX_CONTROLLERS })
      class AppModule {}
      const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
      await app.listen(0, '127.0.0.1');
      await transportReady(transport);
      running = { app, hub: app.get(SseHub), dispose };
      peak = 0;
      return { port: (app.getHttpServer().address() as { port: number }).port };
    }
    case 'turn':
      return runTurn(
        running!.hub,
        request.items,
        request.mode,
        (value, at) => send({ event: 'called', value, at }),
        (settlement) => send({ event: 'settled', ...settlement }),
      );
    case 'presence':
      return running!.hub.presence();
    case 'up':
      return running!.hub.stats().transport.up;
    case 'runs': {
      const { active, readers } = running!.hub.stats().runs;
      return { active, readers };
    }
    case 'endReasons':
      return Object.fromEntries(running!.app.get(MatrixController).endedBy);
    case 'closeUser':
      await running!.hub.closeUser(request.user);
      return null;
    case 'abortRun':
      return running!.hub.abortRun(request.key);
    case 'runStatus':
      return (await running!.hub.runStatus(request.key)) ?? null;
    case 'heap':
      (globalThis as { gc?: () => void }).gc?.();
      return { retained: process.memoryUsage().heapUsed, peak };
    case 'stop': {
      const current = running;
      running = undefined;
      await current?.app.close();
      current?.dispose();
      return null;
    }
    case 'ping':
      return 'pong';
  }
}

process.on('message', (request: Request) => {
  handle(request).then(
    (result) => send({ id: request.id, ok: true, result }),
    (error: unknown) => send({ id: request.id, ok: false, error: (error as Error)?.stack ?? String(error) }),
  );
});
// The test is gone: so is this instance.
process.on('disconnect', () => process.exit(0));
send({ event: 'loaded' });
