import { type SseModuleOptions } from './sse-module-options.interface';
import { validateStreamOptions } from './validate-options';

/**
 * Injection token of the module's options as every provider uses them: checked once, and
 * `{}` when `forRoot()` was called without any (or a `forRootAsync` factory gave none).
 */
export const SSE_RESOLVED_OPTIONS = Symbol('SSE_RESOLVED_OPTIONS');

/** What `SSE_RESOLVED_OPTIONS` holds, from what `forRoot()` or the `forRootAsync` factory gave. */
export function resolveOptions(options: SseModuleOptions | undefined | null): SseModuleOptions {
  const resolved = options ?? {};
  validateStreamOptions(resolved, 'SseModule.forRoot()');
  // Only forRootAsync's factory can put it here, after the module's routes were made.
  if ('dashboard' in resolved) {
    throw new TypeError(
      'SseModule.forRootAsync(): give dashboard beside useFactory ({ useFactory, dashboard }), not in what the factory returns: its routes exist before the factory runs.',
    );
  }
  return resolved;
}
