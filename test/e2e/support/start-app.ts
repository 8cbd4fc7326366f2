import { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SseModule, SseModuleOptions } from 'nestjs-sse-hub';
import { baseUrlOf } from 'nestjs-sse-hub/testing';
import { CaptureLogger } from './capture-logger';

export interface TestApp {
  app: INestApplication;
  url: string;
  logger: CaptureLogger;
}

/** A real Nest app on a free loopback port, with SseModule and a logger the test can read. */
export async function startApp(metadata: ModuleMetadata, options: SseModuleOptions = {}): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    ...metadata,
    imports: [SseModule.forRoot(options), ...(metadata.imports ?? [])],
  }).compile();
  const logger = new CaptureLogger();
  const app = moduleRef.createNestApplication({ logger });
  await app.listen(0, '127.0.0.1');
  return { app, url: await baseUrlOf(app), logger };
}
