import { type Provider } from '@nestjs/common';
import { type SseModuleOptions } from './sse-module-options.interface';
import { SSE_MODULE_OPTIONS } from './sse.module-definition';
import { validateStreamOptions } from './validate-options';

/**
 * Injection token of the module's options as every provider uses them: checked once, and
 * `{}` when `forRoot()` was called without any (or a `forRootAsync` factory gave none).
 */
export const SSE_RESOLVED_OPTIONS = Symbol('SSE_RESOLVED_OPTIONS');

export const resolvedOptionsProvider: Provider = {
  provide: SSE_RESOLVED_OPTIONS,
  inject: [SSE_MODULE_OPTIONS],
  useFactory: (options: SseModuleOptions | undefined | null): SseModuleOptions => {
    const resolved = options ?? {};
    validateStreamOptions(resolved, 'SseModule.forRoot()');
    return resolved;
  },
};
