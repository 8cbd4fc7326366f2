import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';

/** demo/public, whether running from dist-demo/demo/main.js, from demo/main.ts or from another cwd. */
function publicDir(): string {
  const candidates = [
    join(__dirname, '..', '..', 'demo', 'public'),
    join(__dirname, 'public'),
    join(process.cwd(), 'demo', 'public'),
  ];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`demo/public/index.html not found; looked in: ${candidates.join(', ')}`);
  return found;
}

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
  app.useStaticAssets(publicDir());
  await app.listen(port());
  // The port actually bound, so that PORT=0 (any free port) logs a usable URL.
  const { port: bound } = app.getHttpServer().address() as AddressInfo;
  new Logger('Demo').log(`nestjs-sse-hub demo ready on http://localhost:${bound}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
