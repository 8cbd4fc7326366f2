/**
 * What a route's `presence` option returned cannot be kept: it is not JSON (a BigInt, a
 * cycle, a `toJSON` that throws). Presence info crosses instances as JSON on every
 * transport, so it is checked once, for all of them, before the stream starts: the
 * request fails (500), the error names the route, and the process and the other streams
 * carry on.
 *
 * @publicApi
 */
export class SsePresenceInfoError extends TypeError {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SsePresenceInfoError';

  constructor(
    /** The route, as `GET /teams/:team/events`. */
    readonly route: string,
    /** What `JSON.stringify` threw. */
    override readonly cause: unknown,
  ) {
    super(
      `The presence option of ${route} returned a value that cannot be encoded as JSON (${(cause as Error)?.message ?? String(cause)}), so the stream was refused. ` +
        'Return plain JSON values from it: a BigInt as a string or number, no circular references (pick the fields you need from an entity).',
    );
  }
}
