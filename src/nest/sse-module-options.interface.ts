import { SseTransport } from '../hub';
import { SseStreamOptions } from './sse-stream-options.interface';

/**
 * Options of `SseModule.forRoot()`.
 *
 * @publicApi
 */
export interface SseModuleOptions extends SseStreamOptions {
  /** How hub messages reach every instance; in-process by default. */
  transport?: SseTransport;
}
