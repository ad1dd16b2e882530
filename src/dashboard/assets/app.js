// The dashboard page. Everything shown is put in with textContent (never innerHTML), so no value from the
// cluster can become markup. Commands carry the per-process token from the page's meta tag.
/* global document, fetch, location, Node, setTimeout, uPlot */
'use strict';

const token = document.querySelector('meta[name="stepwise-token"]').content;
const main = document.getElementById('main');
const POLL_MS = 1000;

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'onclick') node.addEventListener('click', value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const phase = (p) => el('span', { class: `phase phase-${p ?? 'none'}`, 'data-phase': p ?? '' }, p ?? '—');
function weightBar(weight) {
  const fill = el('span');
  fill.style.width = `${Math.max(0, Math.min(100, weight))}%`;
  return el(
    'span',
    { title: `canary ${weight}% · stable ${100 - weight}%` },
    el('span', { class: 'bar' }, fill),
    ` ${weight}%`,
  );
}
const pct = (x) => (x === undefined || x === null ? '—' : `${(x * 100).toFixed(2)}%`);
const ms = (x) => (x === undefined || x === null ? '—' : `${Math.round(x)} ms`);
const time = (iso) => new Date(iso).toLocaleTimeString();
const step = (s) => (s.currentStep ? `${s.currentStep}/${s.steps}` : '—');

/** A table of rows (each a list of cells, or a ready <tr>), or one row saying there is nothing. */
function table(headings, rows, empty, props = {}) {
  const body = rows.map((row) =>
    row instanceof Node
      ? row
      : el(
          'tr',
          {},
          row.map((cell) => el('td', {}, cell)),
        ),
  );
  return el(
    'table',
    props,
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        headings.map((h) => el('th', {}, h)),
      ),
    ),
    el(
      'tbody',
      {},
      body.length ? body : el('tr', {}, el('td', { colspan: headings.length, class: 'muted' }, empty)),
    ),
  );
}

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

// ---- all Rollouts

async function showList() {
  const data = await getJson('/api/rollouts');
  document.getElementById('scope').textContent = data.namespace
    ? `namespace ${data.namespace}`
    : 'all namespaces';
  const rows = data.items.map((r) =>
    el(
      'tr',
      { 'data-rollout': `${r.namespace}/${r.name}` },
      el(
        'td',
        {},
        el(
          'a',
          { href: `/rollouts/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}` },
          r.name,
        ),
      ),
      el('td', {}, r.namespace),
      el('td', {}, phase(r.phase)),
      el('td', {}, step(r)),
      el('td', {}, weightBar(r.canaryWeight)),
      el('td', {}, r.stableImages.join(', ') || '—'),
      el('td', {}, r.canaryImages.join(', ') || '—'),
    ),
  );
  main.replaceChildren(
    data.error ? el('p', { class: 'reason' }, data.error) : '',
    table(
      ['Rollout', 'Namespace', 'Phase', 'Step', 'Canary weight', 'Stable image', 'Canary image'],
      rows,
      'No Rollouts.',
    ),
  );
}

// ---- one Rollout

const charts = new Map();
function chart(id, title, series, data, options = {}) {
  let entry = charts.get(id);
  const width = Math.max(320, (document.getElementById(id)?.clientWidth || 540) - 10);
  if (!entry) {
    const holder = document.getElementById(id);
    const plot = new uPlot(
      {
        title,
        width,
        height: 200,
        scales: { x: { time: true }, ...(options.scales ?? {}) },
        series: [{}, ...series],
        axes: [{}, { size: 60, ...(options.yAxis ?? {}) }],
      },
      data,
      holder,
    );
    entry = { plot };
    charts.set(id, entry);
  } else {
    entry.plot.setData(data);
  }
}

const seconds = (iso) => new Date(iso).getTime() / 1000;

function weightSeries(weights) {
  // A step function: each weight holds until the next change, and the last one until now.
  const xs = [];
  const ys = [];
  for (const [i, w] of weights.entries()) {
    if (i > 0) {
      xs.push(seconds(w.at));
      ys.push(weights[i - 1].weight);
    }
    xs.push(seconds(w.at));
    ys.push(w.weight);
  }
  if (weights.length) {
    xs.push(Date.now() / 1000);
    ys.push(weights.at(-1).weight);
  }
  return [xs, ys];
}

function drawCharts(d) {
  const limits = d.limits ?? {};
  const xs = d.checks.map((c) => seconds(c.at));
  const line = (value) => d.checks.map(() => value ?? null);
  const val = (key) => d.checks.map((c) => (typeof c[key] === 'number' ? c[key] : null));
  const stable = (key) => d.checks.map((c) => (typeof c.stable?.[key] === 'number' ? c.stable[key] : null));
  chart(
    'chart-weight',
    'Canary weight (%)',
    [{ label: 'canary weight', stroke: '#e08a1e', width: 2 }],
    weightSeries(d.weights),
    {
      scales: { y: { range: [0, 100] } },
    },
  );
  chart(
    'chart-errors',
    'Error rate per check: canary vs stable',
    [
      { label: 'canary error rate', stroke: '#c43c3c', width: 2, value: (_, v) => pct(v) },
      { label: 'stable', stroke: '#2f8f46', width: 2, value: (_, v) => pct(v) },
      { label: 'limit (maxErrorRate)', stroke: '#555', dash: [6, 4], value: (_, v) => pct(v) },
    ],
    [xs, val('errorRate'), stable('errorRate'), line(limits.maxErrorRate)],
    { yAxis: { values: (_, ticks) => ticks.map((t) => pct(t)) } },
  );
  chart(
    'chart-p99',
    'P99 per check (ms): canary vs stable',
    [
      { label: 'canary P99', stroke: '#1d4f91', width: 2, value: (_, v) => ms(v) },
      { label: 'stable', stroke: '#2f8f46', width: 2, value: (_, v) => ms(v) },
      { label: 'limit (maxP99LatencyMs)', stroke: '#555', dash: [6, 4], value: (_, v) => ms(v) },
    ],
    [xs, val('p99Ms'), stable('p99Ms'), line(limits.maxP99LatencyMs)],
  );
  chart(
    'chart-evidence',
    'Comparison: evidence against the canary',
    [
      { label: 'evidence (e-value)', stroke: '#7a3fb0', width: 2 },
      { label: 'rollback bound (1/falseRollbackRate)', stroke: '#555', dash: [6, 4] },
    ],
    [
      xs,
      d.checks.map((c) => (typeof c.evidence === 'number' ? Math.max(c.evidence, 1e-3) : null)),
      line(limits.evidenceBound),
    ],
    { scales: { y: { distr: 3 } } },
  );
}

function confirmThen(text, action) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  const done = () => {
    ok.onclick = null;
    cancel.onclick = null;
    dialog.close();
  };
  ok.onclick = () => {
    done();
    action();
  };
  cancel.onclick = done;
  dialog.showModal();
}

async function sendCommand(namespace, name, command) {
  const out = document.getElementById('command-result');
  out.textContent = `${command}: waiting for the controller…`;
  try {
    const res = await fetch(
      `/api/rollouts/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${command}`,
      {
        method: 'POST',
        headers: { 'x-stepwise-token': token },
      },
    );
    const body = await res.json();
    if (!res.ok) out.textContent = `${command} failed: ${body.error}`;
    else out.textContent = `${command} ${body.accepted ? 'accepted' : 'rejected'}: ${body.message}`;
  } catch (error) {
    out.textContent = `${command} failed: ${error.message}`;
  }
}

const COMMAND_TEXT = {
  promote: 'pass the current gate or hold',
  abort: 'roll back now: all traffic to stable',
  retry: 'start the rolled-back or aborted revision again from step 1',
};

let detailShell;
function buildDetailShell(namespace, name) {
  charts.clear();
  const buttons = Object.entries(COMMAND_TEXT).map(([command, text]) =>
    el(
      'button',
      {
        type: 'button',
        id: `command-${command}`,
        class: command === 'abort' ? 'danger' : command === 'promote' ? 'primary' : '',
        title: text,
        onclick: () =>
          confirmThen(`${command} ${namespace}/${name}: ${text}?`, () =>
            sendCommand(namespace, name, command),
          ),
      },
      command[0].toUpperCase() + command.slice(1),
    ),
  );
  main.replaceChildren(
    el('h1', {}, `${name} `, el('span', { class: 'muted' }, namespace)),
    el('div', { class: 'card', id: 'overview' }),
    el('div', { class: 'buttons' }, buttons, el('span', { id: 'command-result', class: 'muted' })),
    el('p', { class: 'muted', id: 'recording' }),
    el(
      'div',
      { class: 'grid' },
      ['chart-weight', 'chart-errors', 'chart-p99', 'chart-evidence'].map((id) =>
        el('div', { class: 'card', id }),
      ),
    ),
    el('div', { class: 'card' }, el('h2', {}, 'Timeline'), el('div', { id: 'timeline' })),
    el('div', { class: 'card' }, el('h2', {}, 'Release history'), el('div', { id: 'history' })),
  );
  detailShell = `${namespace}/${name}`;
}

// "revision 7 · 5d8f9c7b4 reg/app:1.4.0", numbered as `stepwise status` and `stepwise history` number it.
const revision = (number, hash, images) =>
  [number === undefined ? '' : `revision ${number} ·`, hash ?? '—', images.join(', ')]
    .filter(Boolean)
    .join(' ');

function renderOverview(d) {
  const s = d.summary;
  const st = d.status;
  const a = st.analysis ?? {};
  const l = d.limits ?? {};
  document.getElementById('overview').replaceChildren(
    el(
      'dl',
      {},
      el('dt', {}, 'Phase'),
      el('dd', { id: 'phase' }, phase(s.phase)),
      el('dt', {}, 'Step'),
      el('dd', {}, step(s)),
      el('dt', {}, 'Canary weight'),
      el('dd', {}, weightBar(s.canaryWeight)),
      el('dt', {}, 'Stable'),
      el('dd', {}, revision(st.stableRevisionNumber, st.stableRevision, s.stableImages)),
      el('dt', {}, 'Canary'),
      el('dd', {}, revision(st.canaryRevisionNumber, st.canaryRevision, s.canaryImages)),
      el('dt', {}, 'Last check'),
      el(
        'dd',
        {},
        a.lastCheckAt
          ? `${time(a.lastCheckAt)}: ${a.lastVerdict ?? '—'}, ${a.requests ?? 0} requests, error rate ${pct(a.errorRate)} (limit ${pct(l.maxErrorRate)}), P99 ${ms(a.p99Ms)} (limit ${ms(l.maxP99LatencyMs)})`
          : '—',
      ),
      el('dt', {}, 'Comparison'),
      el(
        'dd',
        {},
        l.comparison
          ? `evidence ${a.evidence === undefined ? '—' : a.evidence.toPrecision(3)} of the ${l.evidenceBound} that rolls back${a.rateRatio ? `; canary/stable rate ratio ${a.rateRatio.lower.toFixed(2)}–${a.rateRatio.upper.toFixed(2)} (held above ${l.tolerance})` : ''}`
          : 'off',
      ),
    ),
    st.reason || st.message
      ? el(
          'div',
          {
            class: ['RolledBack', 'Aborted', 'Failed'].includes(st.phase) ? 'reason' : 'note',
            id: 'reason',
          },
          el('strong', {}, st.reason ?? ''),
          ' ',
          st.message ?? '',
        )
      : '',
    d.specProblems.length ? el('div', { class: 'reason' }, 'Invalid spec: ', d.specProblems.join('; ')) : '',
  );
  const missing = d.checks.findLast((c) => c.stableUnavailable)?.stableUnavailable;
  document.getElementById('recording').textContent =
    `Charts show each check this dashboard saw since ${new Date(d.recordingSince).toLocaleString()} ` +
    "(the Rollout's status keeps only the latest one): the canary's values as the controller judged them, and " +
    "stable's over the same window, read from the Rollout's Prometheus." +
    (missing ? ` Stable's values are missing for some checks: ${missing}.` : '');
}

function renderTimeline(d) {
  const rows = [
    ...d.events.map((e) => ({ at: e.at, kind: e.type, what: e.reason, message: e.message })),
    ...(d.status.recentCommands ?? []).map((c) => ({
      at: c.at,
      kind: 'Command',
      what: `${c.command} ${c.accepted ? 'accepted' : 'rejected'}`,
      message: c.message,
    })),
  ].sort((a, b) => b.at.localeCompare(a.at));
  const seen = new Set();
  const unique = rows.filter((r) => {
    const key = `${r.at}|${r.what}|${r.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  document.getElementById('timeline').replaceChildren(
    table(
      ['Time', '', 'Decision', 'Message'],
      unique.map((r) =>
        el(
          'tr',
          {},
          el('td', {}, time(r.at)),
          el('td', { class: r.kind }, r.kind),
          el('td', {}, r.what),
          el('td', {}, r.message),
        ),
      ),
      'No decisions yet.',
    ),
  );
}

function renderHistory(d) {
  // Shown as the controller records it (status.history): every field, newest release first.
  const keys = [...new Set(d.history.flatMap((h) => Object.keys(h)))];
  // `number` is the revision number `stepwise status` and `history` show; `revision` its pod-template hash.
  const headings = { number: 'revision', revision: 'pod template' };
  const cell = (value) =>
    value !== null && typeof value === 'object' ? JSON.stringify(value) : (value ?? '');
  document.getElementById('history').replaceChildren(
    table(
      keys.map((k) => headings[k] ?? k),
      [...d.history].reverse().map((h) => keys.map((k) => cell(h[k]))),
      'No finished releases recorded in status.history.',
    ),
  );
}

async function showRollout(namespace, name) {
  const d = await getJson(`/api/rollouts/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
  document.getElementById('scope').textContent = `${namespace}/${name}`;
  if (detailShell !== `${namespace}/${name}`) buildDetailShell(namespace, name);
  renderOverview(d);
  drawCharts(d);
  renderTimeline(d);
  renderHistory(d);
}

async function refresh() {
  const parts = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'rollouts' && parts.length === 3) await showRollout(parts[1], parts[2]);
    else await showList();
  } catch (error) {
    main.replaceChildren(el('p', { class: 'reason' }, `Cannot load: ${error.message}`));
    detailShell = undefined;
  }
  setTimeout(refresh, POLL_MS);
}

refresh();
