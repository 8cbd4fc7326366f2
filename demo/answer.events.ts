// The resumable answer's events: AnswerController yields them, browser/answer.ts reads them.

/** The events of `/chat/:id/answer`. */
export interface AnswerEvents {
  /** One token of the answer: a string, sent as it is (the page reads it raw). */
  token: string;
  /** The run failed: the stream's end follows. */
  error: { message: string };
}
