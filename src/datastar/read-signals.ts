import { BadRequestException } from '@nestjs/common';

/** The query parameter Datastar puts the signals in for GET and DELETE requests. */
export const DATASTAR_QUERY_PARAM = 'datastar';

/**
 * The signals a Datastar request carries: for GET and DELETE the `datastar` query
 * parameter (URL-encoded JSON), for other methods the JSON body (parsed by the platform,
 * or a string parsed here). Nothing sent is `{}`. JSON that does not parse to an object
 * is a 400 with a message that says so.
 *
 * @publicApi
 */
export function readSignals<T extends Record<string, unknown> = Record<string, unknown>>(request: {
  method?: string;
  query?: unknown;
  body?: unknown;
}): T {
  const method = (request.method ?? 'GET').toUpperCase();
  const raw =
    method === 'GET' || method === 'DELETE'
      ? (request.query as Record<string, unknown> | undefined)?.[DATASTAR_QUERY_PARAM]
      : request.body;
  if (raw === undefined || raw === null || raw === '') return {} as T;
  let signals: unknown = raw;
  if (typeof raw === 'string') {
    try {
      signals = JSON.parse(raw);
    } catch (error) {
      throw new BadRequestException(
        `Datastar signals must be JSON (${method === 'GET' || method === 'DELETE' ? `the "${DATASTAR_QUERY_PARAM}" query parameter` : 'the request body'}): ${(error as Error).message}`,
      );
    }
  }
  if (typeof signals !== 'object' || signals === null || Array.isArray(signals)) {
    throw new BadRequestException('Datastar signals must be a JSON object, like {"count": 1}.');
  }
  return signals as T;
}
