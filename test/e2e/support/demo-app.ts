import { type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { AppModule } from '../../../demo/app.module';

/** The demo as `npm start` serves it (its pages and routes), on a free loopback port. */
export async function startDemo(
  logger: LoggerService,
): Promise<{ demo: NestExpressApplication; url: string }> {
  const demo = await NestFactory.create<NestExpressApplication>(AppModule, { logger });
  demo.useStaticAssets(resolve('demo/public'));
  await demo.listen(0, '127.0.0.1');
  return { demo, url: `http://127.0.0.1:${(demo.getHttpServer().address() as AddressInfo).port}` };
}
