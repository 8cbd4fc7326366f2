import { type CanActivate, type Type } from '@nestjs/common';

/**
 * The live dashboard of `SseModule.forRoot({ dashboard })`: a page at `path` that shows
 * this instance's `SseHub.stats()` every second.
 *
 * @publicApi
 */
export interface SseDashboardOptions {
  /** Where the page is served (`'/sse-hub'`); its script and stream are under it. */
  path: string;
  /**
   * Who may see it. A class is created inside `SseModule`, so its dependencies must be
   * global providers (or come from `forRootAsync`'s `imports`); an instance is used as it
   * is. Without one the app must have a global guard, or it refuses to start.
   */
  guard?: Type<CanActivate> | CanActivate;
}

/**
 * What `SseModule.forRoot()` and `forRootAsync()` take beside the module's options: it
 * shapes the module itself (its routes), so it cannot come from an async factory.
 *
 * @publicApi
 */
export interface SseModuleExtras {
  /** A live dashboard of the hub at `dashboard.path`; off by default. */
  dashboard?: SseDashboardOptions;
}
