import { type SseRunState } from '../hub/sse-run-status.interface';

/** The states a run can be ended with: what a store's `finish` takes, and nothing else. */
export const ENDED_RUN_STATES: ReadonlySet<string> = new Set<Exclude<SseRunState, 'running'>>([
  'completed',
  'failed',
  'aborted',
]);
