import {
  type ConfigurableModuleAsyncOptions,
  type DynamicModule,
  Module,
  type OnModuleInit,
} from '@nestjs/common';
import { APP_FILTER, ModulesContainer } from '@nestjs/core';
import { SsePendingBudget } from '../connection';
import { defaultMaxTotalPendingBytes } from '../defaults';
import { InMemoryTransport, SSE_HUB_OPTIONS, SSE_TRANSPORT, SseHub, type SseHubOptions } from '../hub';
import { HubStreams } from '../hub/hub-streams';
import { SseConnectionLimiter } from './sse-connection-limiter';
import { type SseModuleOptions } from './sse-module-options.interface';
import { resolveOptions, SSE_RESOLVED_OPTIONS } from './sse-resolved-options';
import { SSE_MODULE_OPTIONS, SseConfigurableModule } from './sse.module-definition';
import { SseInterceptor } from './sse.interceptor';
import { SseErrorsFilter } from './sse-errors.filter';
import { SseModuleImportedTwiceError } from './sse-module-imported-twice.error';
import { type SseDashboardOptions } from './dashboard/sse-dashboard-options.interface';

/**
 * Server-Sent Events for the whole application: `SseModule.forRoot(options)` or
 * `SseModule.forRootAsync({ imports, inject, useFactory })`, once, in the root module.
 * Global: `SseHub` can be injected anywhere.
 *
 * @publicApi
 */
@Module({
  providers: [
    { provide: SSE_RESOLVED_OPTIONS, inject: [SSE_MODULE_OPTIONS], useFactory: resolveOptions },
    {
      provide: SSE_TRANSPORT,
      inject: [SSE_RESOLVED_OPTIONS],
      useFactory: ({ transport, history }: SseModuleOptions) =>
        transport ?? new InMemoryTransport({ historySize: history?.size }),
    },
    {
      provide: SSE_HUB_OPTIONS,
      inject: [SSE_RESOLVED_OPTIONS],
      useFactory: ({ maxEventBytes, maxConnections, metrics }: SseModuleOptions): SseHubOptions => ({
        maxEventBytes,
        maxConnections,
        metrics,
      }),
    },
    {
      provide: SsePendingBudget,
      inject: [SSE_RESOLVED_OPTIONS],
      useFactory: ({ maxTotalPendingBytes }: SseModuleOptions) =>
        new SsePendingBudget(maxTotalPendingBytes ?? defaultMaxTotalPendingBytes()),
    },
    HubStreams,
    SseHub,
    SseConnectionLimiter,
    // A route whose broadcast found the transport away answers 503 with Retry-After; a bad channel name, 400.
    { provide: APP_FILTER, useClass: SseErrorsFilter },
    SseInterceptor,
  ],
  exports: [
    HubStreams,
    SseHub,
    SseConnectionLimiter,
    SseInterceptor,
    SsePendingBudget,
    SSE_TRANSPORT,
    SSE_MODULE_OPTIONS,
    SSE_RESOLVED_OPTIONS,
  ],
})
export class SseModule extends SseConfigurableModule implements OnModuleInit {
  constructor(private readonly modules: ModulesContainer) {
    super();
  }

  /** Two imports with different options are two modules, so two hubs: refused at start-up. */
  onModuleInit(): void {
    const mine = [...this.modules.values()].filter((module) => module.metatype === SseModule);
    if (mine.length < 2) return;
    // Global modules are bound into every module's imports: the declared ones (@Module's
    // `imports` metadata) say who asked.
    const importers = [...this.modules.values()].flatMap((module) =>
      ((Reflect.getMetadata('imports', module.metatype) ?? []) as unknown[])
        .filter((imported) => (imported as DynamicModule | undefined)?.module === SseModule)
        .map(() => module.metatype.name),
    );
    throw new SseModuleImportedTwiceError(mine.length, importers);
  }

  // Parameters spelled out (SseModuleExtras inline), not the builder's types: the reference shows them.
  /** Every option is optional, and so is the argument: `SseModule.forRoot()`. */
  static override forRoot(
    options: SseModuleOptions & {
      /** A live page of this instance's hub at `dashboard.path`; off by default. */
      dashboard?: SseDashboardOptions;
    } = {},
  ): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * The options from a factory, with its `imports` and `inject` (a `ConfigService`, a
   * transport made in another module); `dashboard` is given beside `useFactory`, since it
   * shapes the module's routes.
   */
  static override forRootAsync(
    options: ConfigurableModuleAsyncOptions<SseModuleOptions, 'createSseOptions'> & {
      /** A live page of this instance's hub at `dashboard.path`; off by default. */
      dashboard?: SseDashboardOptions;
    },
  ): DynamicModule {
    return super.forRootAsync(options);
  }
}
