import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { demoDir } from './demo-dir';

function port(): number {
  const raw = process.env.PORT || '3000';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`PORT must be a port number, got "${raw}".`);
  return value;
}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  // SIGINT/SIGTERM run the hub's shutdown hook, which ends open streams so the server can close.
  app.enableShutdownHooks();
  app.useStaticAssets(join(demoDir(), 'public'));
  await app.listen(port());
  // The port actually bound, so that PORT=0 (any free port) logs a usable URL.
  const { port: bound } = app.getHttpServer().address() as AddressInfo;
  new Logger('Demo').log(`nestjs-sse-hub demo ready on http://localhost:${bound}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
