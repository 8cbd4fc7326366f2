/** Text safe inside an HTML attribute or element. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * The dashboard's page: markup and style, no inline script, so that it runs under a
 * Content-Security-Policy of `script-src 'self'` (helmet's default). `base` is the path
 * the page was asked for; `query` (its `?…`, or '') goes on to the script and the stream,
 * for a guard that reads a token from it: `EventSource` sends cookies, never headers.
 */
export function dashboardPage(base: string, query: string): string {
  const stream = escapeHtml(`${base}/stream${query}`);
  const script = escapeHtml(`${base}/dashboard.js${query}`);
  const card = (title: string, stat: string, extra = '') =>
    `<section class="card"><h2>${title}</h2><p class="big" data-stat="${stat}">–</p>${extra}</section>`;
  const pair = (a: [string, string], b: [string, string]) =>
    `<dl>${[a, b].map(([label, stat]) => `<dt>${label}</dt><dd data-stat="${stat}">–</dd>`).join('')}</dl>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SSE hub</title>
<style>
  :root { font: 14px/1.4 system-ui, sans-serif; color: #1d2433; background: #f4f6fa; }
  body { margin: 0 auto; padding: 20px; max-width: 1100px; }
  header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; margin-bottom: 16px; }
  h1 { font-size: 20px; margin: 0; }
  h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: #5b6478; margin: 0 0 6px; }
  .badge { padding: 2px 8px; border-radius: 10px; background: #dde2ec; font-size: 12px; }
  .badge[data-state="up"], .badge[data-state="live"] { background: #cdeccf; color: #19621f; }
  .badge[data-state="down"], .badge[data-state="reconnecting"] { background: #f8d3d0; color: #8a1c12; }
  .grid { display: grid; gap: 12px; margin-bottom: 12px; grid-template-columns: repeat(5, 1fr); }
  .grid.three { grid-template-columns: repeat(3, 1fr); }
  .grid.tables { grid-template-columns: 3fr 2fr; align-items: start; }
  @media (max-width: 800px) { .grid, .grid.three, .grid.tables { grid-template-columns: 1fr 1fr; } }
  .card { background: #fff; border-radius: 8px; padding: 12px 14px; box-shadow: 0 1px 2px #0001; }
  .big { font-size: 24px; font-weight: 600; margin: 0; font-variant-numeric: tabular-nums; }
  .of { color: #5b6478; font-size: 12px; margin: 2px 0 0; }
  svg { display: block; width: 100%; height: 36px; margin-top: 6px; }
  polyline { fill: none; stroke: #3563d6; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
  dl { display: grid; grid-template-columns: 1fr auto; gap: 2px 12px; margin: 0; font-variant-numeric: tabular-nums; }
  dt { color: #5b6478; }
  dd { margin: 0; font-weight: 600; text-align: right; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 4px 6px; border-bottom: 1px solid #eef0f5; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; white-space: normal; overflow-wrap: anywhere; }
  th { font-weight: 500; color: #5b6478; font-size: 12px; }
</style>
</head>
<body data-stream="${stream}">
<header>
  <h1>SSE hub</h1>
  <span class="of">this instance, every second</span>
  <span>transport <b data-stat="transport-name">–</b> <span class="badge" data-stat="transport-state">–</span> <span data-stat="transport-reason"></span></span>
  <span>dashboard <span class="badge" data-stat="connection">connecting</span></span>
</header>
<div class="grid">
  ${card('Streams open', 'streams', '<p class="of">of <span data-stat="max-connections">no limit</span></p>')}
  ${card('Events / s', 'events-rate', '<svg data-chart="events" viewBox="0 0 59 40" preserveAspectRatio="none"><polyline points=""/></svg>')}
  ${card('Bytes / s', 'bytes-rate', '<svg data-chart="bytes" viewBox="0 0 59 40" preserveAspectRatio="none"><polyline points=""/></svg>')}
  ${card('Pending bytes', 'pending-bytes', '<p class="of">of <span data-stat="max-pending-bytes">–</span></p>')}
  ${card('Broadcasts', 'broadcasts')}
</div>
<div class="grid three">
  <section class="card"><h2>Slow consumers</h2>${pair(['closed', 'slow-close'], ['dropping', 'slow-drop'])}</section>
  <section class="card"><h2>Replays</h2>${pair(['complete', 'replays-complete'], ['gap', 'replays-gap'])}</section>
  <section class="card"><h2>Rejected</h2><dl data-stat="rejected"></dl></section>
</div>
<div class="grid tables">
  <section class="card"><h2>Streams by route</h2><table><thead><tr><th>route</th><th>streams</th><th>events</th><th>bytes</th><th>slow</th></tr></thead><tbody data-stat="routes"></tbody></table></section>
  <section class="card"><h2>Busiest channels (<span data-stat="channel-count">0</span>)</h2><table><thead><tr><th>channel</th><th>streams</th></tr></thead><tbody data-stat="channels"></tbody></table></section>
  <section class="card"><h2>Running runs (<span data-stat="runs-active">0</span>; ended: <span data-stat="runs-completed">0</span> completed, <span data-stat="runs-failed">0</span> failed, <span data-stat="runs-aborted">0</span> aborted)</h2><table><thead><tr><th>key</th><th>events</th><th>readers here</th><th>for</th></tr></thead><tbody data-stat="runs"></tbody></table></section>
</div>
<script src="${script}"></script>
</body>
</html>
`;
}
