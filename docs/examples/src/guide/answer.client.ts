/// <reference lib="dom" />
// The page's side of docs/runs.md (browser code, bundled with the page): ask with a POST and
// read its stream; after a reload, in another tab, or when the connection broke, resume
// with EventSource on the GET route.

/** Where the answer is shown. */
export interface AnswerView {
  append(text: string): void;
  /** A `resync`: what follows does not continue what is shown (the run was trimmed, or is another). */
  clear(): void;
}

/** Starts the answer (or joins it) and reads the POST's stream, then makes sure it got all of it. */
export async function ask(id: string, prompt: string, view: AnswerView): Promise<EventSource> {
  const response = await fetch(`/chat/${id}/answer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
  });
  if (!response.ok) throw new Error(`The answer could not start: ${response.status}`);
  let lastEventId: string | undefined;
  try {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffer += read.value;
      // An event ends with a blank line. This route's events are `event:`, `id:` and one
      // `data:` line of JSON; a full parser (the eventsource-parser package) takes any stream.
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const fields = new Map(
          buffer
            .slice(0, end)
            .split('\n')
            .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
        );
        buffer = buffer.slice(end + 2);
        lastEventId = fields.get('id') ?? lastEventId;
        if (fields.get('event') === 'token') view.append(JSON.parse(fields.get('data')!).text);
        if (fields.get('event') === 'resync') view.clear();
      }
    }
  } catch {
    // The network went, the run did not.
  }
  // The stream ended: with the run, or only with its connection (a network change, the
  // instance shutting down). Resuming after the last event tells: 204 at the end of the run.
  return resume(id, view, lastEventId);
}

/** Follows the answer from its start, or after `lastEventId`, until it ends. */
export function resume(id: string, view: AnswerView, lastEventId?: string): EventSource {
  // EventSource cannot send a Last-Event-ID header the first time: the query does. Its own
  // reconnects send the header, which wins.
  const query = lastEventId ? `?lastEventId=${encodeURIComponent(lastEventId)}` : '';
  const source = new EventSource(`/chat/${id}/answer${query}`);
  source.addEventListener('token', (event) => view.append(JSON.parse(event.data).text));
  source.addEventListener('resync', () => view.clear());
  source.addEventListener('error', (event) => {
    // The run failed: the server's `event: error` carries data, a dropped connection does not.
    if (event instanceof MessageEvent) source.close();
    // At the end, EventSource reconnects once with the last id, gets 204, and stops by itself.
  });
  return source;
}
