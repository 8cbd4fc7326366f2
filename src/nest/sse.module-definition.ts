import { ConfigurableModuleBuilder } from '@nestjs/common';
import { type SseModuleOptions } from './sse-module-options.interface';

export const {
  ConfigurableModuleClass: SseConfigurableModule,
  MODULE_OPTIONS_TOKEN: SSE_MODULE_OPTIONS,
  OPTIONS_TYPE: SSE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SSE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SseModuleOptions>({ moduleName: 'Sse' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSseOptions')
  // One hub per application: every module's routes and services must see the same one.
  .setExtras({}, (definition) => ({ ...definition, global: true }))
  .build();
