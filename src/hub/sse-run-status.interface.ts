/**
 * How a resumable run stands: `running` while its producer yields; then `completed` (it
 * finished), `failed` (it threw, overran `maxDuration`, or its instance stopped or died)
 * or `aborted` (`SseHub.abortRun`).
 *
 * @publicApi
 */
export type SseRunState = 'running' | 'completed' | 'failed' | 'aborted';

/**
 * What `SseHub.runStatus(key)` says of a run.
 *
 * @publicApi
 */
export interface SseRunStatus {
  /** How it stands. */
  status: SseRunState;
  /** How many events it has produced so far (kept or trimmed). */
  events: number;
}
