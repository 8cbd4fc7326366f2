/**
 * The dashboard's browser script, served as a file of its own (`dashboard.js`) so that a
 * Content-Security-Policy of `script-src 'self'` allows it. It renders each `stats` event
 * of the stream; rates are the deltas of consecutive snapshots, whose counts are totals.
 * Every shown number also carries its raw value in `data-value`, for tests and scrapers.
 */
export const DASHBOARD_SCRIPT = `'use strict';
(() => {
  const WINDOW = 60; // snapshots (seconds) per chart
  const rates = { events: [], bytes: [] };
  const number = new Intl.NumberFormat('en');
  const size = (n) => {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let unit = 0;
    for (; n >= 1024 && unit < units.length - 1; unit++) n /= 1024;
    return (unit ? n.toFixed(1) : String(Math.round(n))) + ' ' + units[unit];
  };
  const count = (n) => number.format(Math.round(n));
  const cell = (element, stat, value, format = count) => {
    element.dataset.stat = stat;
    element.dataset.value = String(value);
    element.textContent = format(value);
  };
  const show = (stat, value, format = count) => {
    for (const element of document.querySelectorAll('[data-stat="' + stat + '"]')) {
      if (value === undefined) element.textContent = 'no limit';
      else cell(element, stat, value, format);
    }
  };
  const total = (routes, key) => routes.reduce((sum, route) => sum + route[key], 0);

  // One row per item, keyed (data-key) by its route or channel.
  function table(stat, items, key, columns) {
    const body = document.querySelector('[data-stat="' + stat + '"]');
    body.replaceChildren(...items.map((item) => {
      const row = document.createElement('tr');
      row.dataset.key = key(item);
      row.insertCell().textContent = key(item);
      for (const [name, value, format] of columns(item)) cell(row.insertCell(), name, value, format);
      return row;
    }));
  }

  function chart(name, rate) {
    const values = rates[name];
    values.push(rate);
    if (values.length > WINDOW) values.shift();
    const max = Math.max(...values, 1);
    const points = values.map((value, i) => (WINDOW - values.length + i) + ',' + (39 - (value / max) * 37).toFixed(1));
    document.querySelector('[data-chart="' + name + '"] polyline').setAttribute('points', points.join(' '));
  }

  let last;
  function render(stats) {
    const now = { time: stats.time, events: total(stats.routes, 'events'), bytes: total(stats.routes, 'bytes') };
    if (last) {
      const seconds = Math.max(now.time - last.time, 1) / 1000;
      // A smaller total means another instance (or a restart) answered: no rate from that pair.
      for (const name of ['events', 'bytes']) chart(name, Math.max(0, now[name] - last[name]) / seconds);
      show('events-rate', rates.events.at(-1));
      show('bytes-rate', rates.bytes.at(-1), (n) => size(n) + '/s');
    }
    last = now;

    const state = stats.transport.up ? 'up' : 'down';
    show('transport-name', stats.transport.name, String);
    show('transport-state', state, String);
    document.querySelector('[data-stat="transport-state"]').dataset.state = state;
    show('transport-reason', stats.transport.reason ?? '', String);
    show('streams', stats.streams);
    show('max-connections', stats.maxConnections);
    show('pending-bytes', stats.pendingBytes, size);
    show('max-pending-bytes', stats.maxTotalPendingBytes, size);
    show('broadcasts', stats.broadcasts);
    show('slow-close', stats.slowConsumers.close);
    show('slow-drop', stats.slowConsumers.drop);
    show('replays-complete', stats.replays.complete);
    show('replays-gap', stats.replays.gap);
    show('channel-count', stats.channels.count);
    document.querySelector('[data-stat="rejected"]').replaceChildren(...Object.entries(stats.rejected).flatMap(([reason, n]) => {
      const [term, value] = [document.createElement('dt'), document.createElement('dd')];
      term.textContent = reason.replaceAll('_', ' ');
      cell(value, 'rejected-' + reason, n);
      return [term, value];
    }));
    table('routes', stats.routes, (route) => route.route, (route) => [
      ['route-streams', route.streams], ['route-events', route.events], ['route-bytes', route.bytes, size], ['route-slow', route.slowConsumers],
    ]);
    table('channels', stats.channels.busiest, (channel) => channel.channel, (channel) => [['channel-streams', channel.streams]]);
    show('runs-active', stats.runs.active);
    show('runs-completed', stats.runs.finished.completed);
    show('runs-failed', stats.runs.finished.failed);
    show('runs-aborted', stats.runs.finished.aborted);
    table('runs', stats.runs.running.slice(0, 20), (run) => run.key, (run) => [
      ['run-events', run.events], ['run-readers', run.readers], ['run-age', Math.round((stats.time - run.startedAt) / 1000), (n) => n + ' s'],
    ]);
  }

  function setConnection(state) {
    show('connection', state, String);
    document.querySelector('[data-stat="connection"]').dataset.state = state;
  }

  function connect() {
    const source = new EventSource(document.body.dataset.stream);
    source.addEventListener('stats', (event) => render(JSON.parse(event.data)));
    source.addEventListener('open', () => setConnection('live'));
    source.addEventListener('error', () => {
      setConnection('reconnecting');
      // A refusal (403, 503) ends an EventSource for good; a dropped stream it retries itself.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    });
  }
  connect();
})();
`;
