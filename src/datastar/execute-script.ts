import { type SseEvent } from '../wire';
import { type ExecuteScriptOptions } from './datastar-options.interface';
import { patchElements } from './patch-elements';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '"': '&quot;',
  "'": '&#39;',
  '<': '&lt;',
  '>': '&gt;',
};

/** An attribute value safe between double quotes. */
function escapeAttribute(value: string): string {
  return value.replace(/[&"'<>]/g, (char) => ESCAPES[char]);
}

/**
 * Runs `script` in the page: a `<script>` appended to `body` (a patch-elements event with
 * `selector body` and `mode append`), removed once it has run unless `autoRemove` is
 * false. Attribute values are HTML-escaped.
 *
 * @publicApi
 */
export function executeScript(script: string, options: ExecuteScriptOptions = {}): SseEvent {
  const { autoRemove = true, attributes = {}, eventId, retryDuration } = options;
  let open = '<script';
  if (autoRemove) open += ' data-effect="el.remove()"';
  for (const [name, value] of Object.entries(attributes)) {
    if (!/^[^\s"'>/=]+$/.test(name))
      throw new TypeError(`executeScript: "${name}" is not a valid attribute name.`);
    open += ` ${name}="${escapeAttribute(value)}"`;
  }
  return patchElements(`${open}>${script}</script>`, {
    selector: 'body',
    mode: 'append',
    eventId,
    retryDuration,
  });
}
