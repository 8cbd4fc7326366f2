import { setTimeout as sleep } from 'node:timers/promises';

// The README's own controller (docs/examples), so that the tests check what users copy.
export { HealthController } from '../../../docs/examples/src/guide/health.module';

/** What GET /health answered: the HTTP status and terminus's JSON body. */
export interface HealthAnswer {
  status: number;
  body: {
    status: string;
    info?: Record<string, any>;
    error?: Record<string, any>;
    details: Record<string, any>;
  };
}

export async function getHealth(url: string): Promise<HealthAnswer> {
  const response = await fetch(`${url}/health`, { headers: { connection: 'close' } });
  return { status: response.status, body: await response.json() };
}

/**
 * Asks GET /health until its answer passes `until`, a little while apart, and fails with
 * the last answer after `timeout` ms: state changes (a connection that drops, a stream
 * that ends) reach the server on their own time.
 */
export async function healthUntil(
  url: string,
  until: (answer: HealthAnswer) => boolean,
  timeout = 20_000,
): Promise<HealthAnswer> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const answer = await getHealth(url);
    if (until(answer)) return answer;
    if (Date.now() > deadline)
      throw new Error(
        `GET /health did not change as expected within ${timeout} ms; it last answered ${answer.status} ${JSON.stringify(answer.body)}`,
      );
    await sleep(50);
  }
}
