import { Module } from '@nestjs/common';
import { InMemoryTransport, SSE_HUB_OPTIONS, SSE_TRANSPORT, SseHub, type SseHubOptions } from '../hub';
import { SseConnectionLimiter } from './sse-connection-limiter';
import { type SseModuleOptions } from './sse-module-options.interface';
import { SSE_MODULE_OPTIONS, SseConfigurableModule } from './sse.module-definition';
import { SseInterceptor } from './sse.interceptor';
import { validateStreamOptions } from './validate-options';

/**
 * Server-Sent Events for the whole application: `SseModule.forRoot(options)` or
 * `SseModule.forRootAsync({ imports, inject, useFactory })`, once, in the root module.
 * Global: `SseHub` can be injected anywhere.
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: SSE_TRANSPORT,
      inject: [SSE_MODULE_OPTIONS],
      useFactory: (options: SseModuleOptions) => {
        validateStreamOptions(options, 'SseModule.forRoot()');
        const { transport, history } = options;
        return transport ?? new InMemoryTransport({ historySize: history === false ? 0 : history?.size });
      },
    },
    {
      provide: SSE_HUB_OPTIONS,
      inject: [SSE_MODULE_OPTIONS],
      useFactory: ({ maxEventBytes }: SseModuleOptions): SseHubOptions => ({ maxEventBytes }),
    },
    SseHub,
    SseConnectionLimiter,
    SseInterceptor,
  ],
  exports: [SseHub, SseConnectionLimiter, SseInterceptor, SSE_MODULE_OPTIONS],
})
export class SseModule extends SseConfigurableModule {}
