/**
 * Thrown at start-up when a controller has an `@SseRoute()` but the app never imported
 * `SseModule.forRoot()` (or `forRootAsync()`), which provides the hub the route needs.
 *
 * @publicApi
 */
export class SseModuleMissingError extends Error {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseModuleMissingError';

  constructor() {
    super(
      'An @SseRoute() needs SseModule: add SseModule.forRoot() (or SseModule.forRootAsync({ useFactory })) ' +
        "to the imports of your root module (AppModule). It is global, so one import serves every module's routes.",
    );
  }
}
