import { type SseTestEvent, type SseTestStream } from 'nestjs-sse-hub/testing';

// What the specs of resumable runs read streams with.

export const dataOf = (events: SseTestEvent[]) => events.map((event) => event.data);

/** Every event until the stream ends. */
export async function rest(stream: SseTestStream): Promise<SseTestEvent[]> {
  const events: SseTestEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Polls `check` until it holds, for at most `ms`: for what has no event to await. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const turn = () => new Promise((resolve) => setImmediate(resolve));
