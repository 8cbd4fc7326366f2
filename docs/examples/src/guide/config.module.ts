import { Injectable, Module } from '@nestjs/common';
import { SseModule } from 'nestjs-sse-hub';

// The app's settings, read once from the environment and injected where they are needed.
// With @nestjs/config, ConfigService plays this part (see the text below).
@Injectable()
export class AppConfig {
  readonly keepAlive = Number(process.env.SSE_KEEP_ALIVE_MS ?? 15_000);
  readonly maxConnections = Number(process.env.SSE_MAX_CONNECTIONS ?? 10_000);
}

@Module({ providers: [AppConfig], exports: [AppConfig] })
export class AppConfigModule {}

@Module({
  imports: [
    // forRootAsync: the options come from a factory, which Nest calls with what `inject` names
    // (from the modules in `imports`) once they exist. It may be async.
    SseModule.forRootAsync({
      imports: [AppConfigModule],
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        keepAlive: config.keepAlive,
        maxConnections: config.maxConnections,
      }),
    }),
  ],
})
export class ConfiguredAppModule {}
