/** How `patchElements` puts the elements into the page (the Datastar SDK ADR's modes). */
export type DatastarPatchMode =
  'outer' | 'inner' | 'replace' | 'prepend' | 'append' | 'before' | 'after' | 'remove';

/** The namespace the elements are parsed in. */
export type DatastarNamespace = 'html' | 'svg' | 'mathml';

/** What every Datastar event may carry: its SSE id and a `retry` for the client. */
export interface DatastarEventOptions {
  /** The event's `id:` (a hub broadcast gives its own). */
  eventId?: string;
  /** The event's `retry:` in ms; omitted when it is Datastar's default, 1000. */
  retryDuration?: number;
}

/** Where and how `patchElements` puts its elements into the page. @publicApi */
export interface PatchElementsOptions extends DatastarEventOptions {
  /** CSS selector of the target; without it, elements are matched by their `id`. */
  selector?: string;
  /** Default `outer`. */
  mode?: DatastarPatchMode;
  /** Patches inside a View Transition (`document.startViewTransition`), where the browser has them. */
  useViewTransition?: boolean;
  /** Default `html`. */
  namespace?: DatastarNamespace;
}

/** How `patchSignals` merges its signals into the page's. @publicApi */
export interface PatchSignalsOptions extends DatastarEventOptions {
  /** Only sets signals the page does not have yet. */
  onlyIfMissing?: boolean;
}

/** The `<script>` element `executeScript` adds to the page. @publicApi */
export interface ExecuteScriptOptions extends DatastarEventOptions {
  /** Removes the script element once it has run (default `true`). */
  autoRemove?: boolean;
  /** Attributes of the `<script>` element; values are HTML-escaped. */
  attributes?: Record<string, string>;
}
