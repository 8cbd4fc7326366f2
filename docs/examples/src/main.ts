import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap() {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks(); // SIGTERM ends every stream with a retry: clients come back elsewhere
  await app.listen(process.env.PORT ?? 3000);
  new Logger('Bootstrap').log(`Listening on ${await app.getUrl()}`);
}
void bootstrap();
