/**
 * Thrown at start-up when the dashboard would be open to anyone: it has no guard of its
 * own and the app registered no global guard.
 *
 * @publicApi
 */
export class SseDashboardUnguardedError extends Error {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseDashboardUnguardedError';

  constructor(
    /** Where the dashboard would have been served. */
    readonly path: string,
  ) {
    super(
      `The SSE dashboard at ${path} has no guard and the app has no global guard, so anyone could read it: it shows every route and channel name. ` +
        `Pass SseModule.forRoot({ dashboard: { path: '${path}', guard: YourAdminGuard } }), or register a global guard ` +
        '(an APP_GUARD provider, or app.useGlobalGuards() before app.init() or app.listen()).',
    );
  }
}
