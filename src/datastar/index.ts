/**
 * Datastar's events (`patchElements`, `patchSignals`, `executeScript`, `remove`) as
 * ordinary SSE events, and `@DatastarSignals()` / `readSignals` to read the page's signals.
 *
 * @module nestjs-sse-hub/datastar
 */
export * from './datastar-options.interface';
export * from './datastar-signals.decorator';
export * from './execute-script';
export * from './patch-elements';
export * from './patch-signals';
export { readSignals } from './read-signals';
export * from './remove';
