import { openSseStream, type SseTestEvent } from 'nestjs-sse-hub/testing';
import { AnswerController, SignedInGuard } from '../../docs/examples/src/guide/answer.controller';
import { startApp, type TestApp } from './support/start-app';

// The recipe of docs/runs.md as users copy it (docs/examples), driven as its page would:
// a POST that starts the answer, a reload that resumes it, a stop from another tab.
const WORDS = 'You asked: tea. Here is a long answer, word by word.'.split(' ');

// The guide's model says the prompt back, a word every 100 ms: this one keeps a run going
// for as long as a test needs it.
const LONG_PROMPT = Array.from({ length: 1000 }, () => 'tea').join(' ');

const ask = (t: TestApp, user: string | undefined, id: string, prompt = 'tea') =>
  openSseStream(t.url, `/chat/${id}/answer`, {
    method: 'POST',
    body: { prompt },
    headers: { ...(user && { 'x-user': user }) },
  });

const resume = (t: TestApp, user: string | undefined, id: string, headers: Record<string, string> = {}) =>
  openSseStream(t.url, `/chat/${id}/answer`, { headers: { ...(user && { 'x-user': user }), ...headers } });

const call = (t: TestApp, user: string, method: string, path: string) =>
  fetch(`${t.url}${path}`, { method, headers: { 'x-user': user } });

const textOf = (events: SseTestEvent[]) => events.map((event) => JSON.parse(event.data).text).join('');

async function rest(stream: Awaited<ReturnType<typeof openSseStream>>): Promise<SseTestEvent[]> {
  const events: SseTestEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe("the guide's resumable answer (docs/runs.md)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(
      { controllers: [AnswerController], providers: [SignedInGuard] },
      {},
      {
        // Stands for the app's authentication: the signed-in user is the `x-user` header.
        configure: (app) =>
          app.use((req: any, _res: unknown, next: () => void) => {
            if (req.headers['x-user']) req.user = { id: req.headers['x-user'] };
            next();
          }),
      },
    );
  });
  afterAll(() => t.app.close());

  it('a reload mid-answer resumes after the last event it got: the whole answer, once', async () => {
    const first = await ask(t, 'ann', '1');
    expect(first.status).toBe(200);
    const before = await first.take(2);
    first.close();
    const after = await rest(await resume(t, 'ann', '1', { 'last-event-id': before[1].id! }));
    expect(textOf([...before, ...after])).toBe(WORDS.map((word) => `${word} `).join(''));
    const status = await (await call(t, 'ann', 'GET', '/chat/1/status')).json();
    expect(status).toEqual({ status: 'completed', events: WORDS.length });
    // A second device, later: the whole answer from the start; with the last id, 204.
    const again = await rest(await resume(t, 'ann', '1'));
    expect(again.map((event) => event.id)).toEqual([...before, ...after].map((event) => event.id));
    expect((await resume(t, 'ann', '1', { 'last-event-id': after.at(-1)!.id! })).status).toBe(204);
    // A POST that joins a finished run reads it: the model is not asked again.
    const joined = await rest(await ask(t, 'ann', '1'));
    expect(joined.map((event) => event.id)).toEqual(again.map((event) => event.id));
  });

  it("another user gets their own key (204), never ann's answer; no user, the guard refuses", async () => {
    const first = await ask(t, 'ann', '2', LONG_PROMPT);
    await first.nextEvent();
    const bob = await resume(t, 'bob', '2');
    expect(bob.status).toBe(204);
    expect((await call(t, 'bob', 'GET', '/chat/2/status')).status).toBe(404);
    expect((await resume(t, undefined, '2')).status).toBe(403);
    expect((await ask(t, undefined, '2')).status).toBe(403);
    expect(await (await call(t, 'ann', 'POST', '/chat/2/stop')).json()).toEqual({ stopped: true });
    await first.closed();
  });

  it('a stop from another tab aborts the run: every reader ends, the status is aborted', async () => {
    const first = await ask(t, 'ann', '3', LONG_PROMPT);
    await first.nextEvent();
    const tab = await resume(t, 'ann', '3');
    await tab.nextEvent();
    const stop = await call(t, 'ann', 'POST', '/chat/3/stop');
    expect(await stop.json()).toEqual({ stopped: true });
    await Promise.all([first.closed(), tab.closed()]);
    const status = await (await call(t, 'ann', 'GET', '/chat/3/status')).json();
    expect(status.status).toBe('aborted');
    expect(await (await call(t, 'ann', 'POST', '/chat/3/stop')).json()).toEqual({ stopped: false });
  });
});
