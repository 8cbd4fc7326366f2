import { type SseEvent } from '../wire';
import { type DatastarEventOptions } from './datastar-options.interface';
import { patchElements } from './patch-elements';
import { patchSignals } from './patch-signals';

/** Removes the elements `selector` matches (patch-elements, `mode remove`). @publicApi */
export function removeElements(selector: string, options: DatastarEventOptions = {}): SseEvent {
  return patchElements(undefined, { ...options, selector, mode: 'remove' });
}

/**
 * Removes signals by path (`'user.name'`, or several): a patch-signals event that sets
 * each of them to `null`, which is how Datastar removes a signal.
 *
 * @publicApi
 */
export function removeSignals(
  paths: string | readonly string[],
  options: DatastarEventOptions = {},
): SseEvent {
  const patch: Record<string, unknown> = {};
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    const keys = path.split('.');
    if (keys.some((key) => key === ''))
      throw new TypeError(`removeSignals: "${path}" is not a signal path (like "user.name").`);
    let node = patch;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]] = null;
  }
  return patchSignals(patch, options);
}
