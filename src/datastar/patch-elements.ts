import { type SseEvent } from '../wire';
import { datastarEvent, PATCH_ELEMENTS, prefixed } from './datastar-event';
import { type PatchElementsOptions } from './datastar-options.interface';

/**
 * A `datastar-patch-elements` event: `selector`, `mode` (unless `outer`),
 * `useViewTransition` (if true), `namespace` (unless `html`), then one `elements` line
 * per line of `elements`. Returns an ordinary event: send it, return it from a handler
 * or a hook, or broadcast it through the hub (encoded once).
 *
 * @publicApi
 */
export function patchElements(elements?: string, options: PatchElementsOptions = {}): SseEvent {
  const { selector, mode = 'outer', useViewTransition = false, namespace = 'html' } = options;
  if (mode === 'remove' ? selector === undefined && !elements : !elements) {
    throw new TypeError(
      mode === 'remove'
        ? 'patchElements with mode "remove" needs a selector or elements with ids to remove.'
        : `patchElements needs elements to patch (mode "${mode}"); to remove elements use removeElements(selector).`,
    );
  }
  const lines: string[] = [];
  if (selector !== undefined) lines.push(`selector ${selector}`);
  if (mode !== 'outer') lines.push(`mode ${mode}`);
  if (useViewTransition) lines.push('useViewTransition true');
  if (namespace !== 'html') lines.push(`namespace ${namespace}`);
  if (elements) lines.push(...prefixed('elements', elements));
  return datastarEvent(PATCH_ELEMENTS, lines, options);
}
