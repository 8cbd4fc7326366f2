/**
 * Thrown at start-up when `SseModule.forRoot()` / `forRootAsync()` is imported more than
 * once with different options: each import would make its own hub, so routes and services
 * would each see a different one (a transport in one, the dashboard watching the other).
 *
 * @publicApi
 */
export class SseModuleImportedTwiceError extends Error {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseModuleImportedTwiceError';

  constructor(
    /** How many `SseModule`s the app ended up with. */
    readonly imports: number,
    /** The modules that import it, by class name, as far as Nest's metadata says. */
    readonly importers: readonly string[],
  ) {
    super(
      `SseModule.forRoot() (or forRootAsync()) is imported ${imports} times` +
        (importers.length > 0 ? `, by ${importers.join(', ')}` : '') +
        `: each import would make its own SseHub. Import it once, in the root ` +
        'module: it is global, so every module can inject SseHub. Give that one call the transport ' +
        '(a transport made in another module: forRootAsync({ imports, inject, useFactory })), and add ' +
        'the dashboard from any module with SseDashboardModule.register({ path, guard }).',
    );
  }
}
