import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Node's own request and response under Express (the objects themselves) or Fastify (`.raw`). */
export interface RawHttp {
  req: IncomingMessage;
  res: ServerResponse;
  /** Headers the app set on the framework response that Node's response does not hold yet. */
  headers: OutgoingHttpHeaders | undefined;
}

export function rawHttp(request: any, response: any): RawHttp {
  if (response.raw) {
    // Fastify keeps headers set with reply.header() (CORS, @Header()) in the reply until it sends.
    return { req: request.raw, res: response.raw, headers: response.getHeaders?.() };
  }
  return { req: request, res: response, headers: undefined };
}
