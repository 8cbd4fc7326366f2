import { type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { type AbstractHttpAdapter } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { SseModule, type SseModuleOptions } from 'nestjs-sse-hub';
import { type SseModuleExtras } from '../../../src/internal';
import { baseUrlOf } from '../../../src/testing/open-sse-stream';
import { CaptureLogger } from './capture-logger';

export interface TestApp {
  app: INestApplication;
  url: string;
  logger: CaptureLogger;
}

export type Platform = 'express' | 'fastify';

/** The HTTP platform this run of the suite is on (jest.config.js runs the e2e suite once per platform). */
export function platform(): Platform {
  const name = process.env.SSE_PLATFORM ?? 'express';
  if (name !== 'express' && name !== 'fastify')
    throw new Error(`SSE_PLATFORM must be express or fastify, got "${name}"`);
  return name;
}

/** A real Nest app on a free loopback port, with SseModule and a logger the test can read. */
export interface StartAppOptions {
  /** The HTTP adapter, instead of the one of this run's platform (e.g. Fastify with HTTP/2). */
  adapter?: AbstractHttpAdapter;
  /** Called before `listen`, as `main.ts` would (CORS, global pipes...). */
  configure?: (app: INestApplication) => void;
}

export async function startApp(
  metadata: ModuleMetadata,
  options: SseModuleOptions & SseModuleExtras = {},
  { adapter, configure }: StartAppOptions = {},
): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    ...metadata,
    imports: [SseModule.forRoot(options), ...(metadata.imports ?? [])],
  }).compile();
  const logger = new CaptureLogger();
  adapter ??= platform() === 'fastify' ? new FastifyAdapter() : undefined;
  const app = adapter
    ? moduleRef.createNestApplication(adapter, { logger })
    : moduleRef.createNestApplication({ logger });
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  return { app, url: await baseUrlOf(app), logger };
}
