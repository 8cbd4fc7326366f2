import { type SseEvent } from '../wire';
import { datastarEvent, PATCH_SIGNALS, prefixed } from './datastar-event';
import { type PatchSignalsOptions } from './datastar-options.interface';

/**
 * A `datastar-patch-signals` event: `onlyIfMissing true` (if asked), then one `signals`
 * line per line of the JSON. An object is serialised compactly; a string is used as
 * given (it may span lines). A signal set to `null` is removed.
 *
 * @publicApi
 */
export function patchSignals(signals: object | string, options: PatchSignalsOptions = {}): SseEvent {
  const json = typeof signals === 'string' ? signals : JSON.stringify(signals);
  const lines: string[] = [];
  if (options.onlyIfMissing) lines.push('onlyIfMissing true');
  lines.push(...prefixed('signals', json));
  return datastarEvent(PATCH_SIGNALS, lines, options);
}
