import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createSseDashboardController } from './dashboard/sse-dashboard.controller';
import { type SseModuleExtras } from './dashboard/sse-dashboard-options.interface';
import { type SseModuleOptions } from './sse-module-options.interface';

export const {
  ConfigurableModuleClass: SseConfigurableModule,
  MODULE_OPTIONS_TOKEN: SSE_MODULE_OPTIONS,
  OPTIONS_TYPE: SSE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SSE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SseModuleOptions>({ moduleName: 'Sse' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSseOptions')
  // Extras shape the module itself, so forRoot and forRootAsync both take them beside the
  // options; a key listed here is also what Nest strips from forRoot's options.
  .setExtras<SseModuleExtras>({ dashboard: undefined }, (definition, { dashboard }) => ({
    ...definition,
    // One hub per application: every module's routes and services must see the same one.
    global: true,
    controllers: dashboard === undefined ? [] : [createSseDashboardController(dashboard)],
  }))
  .build();
