import { type DynamicModule, Module } from '@nestjs/common';
import { type SseDashboardOptions } from './sse-dashboard-options.interface';
import { createSseDashboardController } from './sse-dashboard.controller';

/**
 * The live dashboard, from any module: `SseDashboardModule.register({ path, guard })` does
 * what `SseModule.forRoot({ dashboard })` does, without a second `SseModule.forRoot()`
 * (which would make a second hub). It watches the app's one `SseHub`.
 *
 * @publicApi
 */
@Module({})
export class SseDashboardModule {
  /** The dashboard's controller at `options.path`, behind `options.guard` or the app's global guards. */
  static register(options: SseDashboardOptions): DynamicModule {
    return {
      module: SseDashboardModule,
      controllers: [createSseDashboardController(options, 'SseDashboardModule.register()')],
    };
  }
}
