// tripswitch dashboard page: plain browser JavaScript, no build step, no third-party code.
// Data arrives over Server-Sent Events from /dashboard/events: `snapshot` (every interval) and `state`
// (at once on every state change). Operator actions POST to /dashboard/api/breakers/:name/:action.

const TOKEN_KEY = 'tripswitch.dashboard.adminToken';
const SVG_NS = 'http://www.w3.org/2000/svg';

/** Ladder order for the fallback mix, with readable names. */
const LEVELS = [
  ['llm', 'Model answer (primary)'],
  ['secondary_model', 'Model answer (secondary model)'],
  ['fresh_cache', 'Fresh cache'],
  ['l1_cache', 'Stale cache (L1, in memory)'],
  ['l2_cache', 'Stale cache (L2, Redis)'],
  ['excerpts', 'Document excerpts'],
  ['queued', 'Queued job (202)'],
  ['unavailable', 'Unavailable (503)'],
  ['partial', 'Stream cut off after its first token'],
];

const $ = (id) => document.getElementById(id);
const els = {
  conn: $('conn'),
  adminNote: $('admin-note'),
  tokenForm: $('token-form'),
  token: $('token'),
  tokenSet: $('token-set'),
  tokenForget: $('token-forget'),
  actionStatus: $('action-status'),
  breakers: $('breakers'),
  hiddenNote: $('hidden-note'),
  mix: $('mix'),
  announcer: $('announcer'),
  rangeButtons: [...document.querySelectorAll('[data-range]')],
  template: $('breaker-template'),
};

const view = {
  /** Server time of the latest snapshot and the local monotonic time it arrived. */
  serverAt: 0,
  receivedAt: 0,
  lastEventAt: 0,
  intervalMs: 1000,
  windowSeconds: 600,
  /** Seconds of timeline drawn (the operator's choice, at most the server's window). */
  rangeSeconds: 600,
  states: ['closed', 'disabled', 'half-open', 'open', 'isolated'],
  admin: false,
  /** name -> { data, seconds: Map<second, bucket>, el } */
  cards: new Map(),
  nextCardId: 1,
};

// ---------------------------------------------------------------- admin token (sessionStorage only)

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be blocked; the token then lives only as long as this page.
  }
  memoryToken = token;
}

let memoryToken = storedToken();

function setActionStatus(text, kind) {
  els.actionStatus.textContent = text;
  els.actionStatus.dataset.kind = kind;
}

function renderAdmin() {
  if (!view.admin) {
    els.adminNote.textContent =
      'Read-only: operator actions are disabled on this server (set ADMIN_TOKEN to enable them).';
    els.tokenForm.hidden = true;
    els.tokenSet.hidden = true;
  } else {
    els.tokenForm.hidden = Boolean(memoryToken);
    els.tokenSet.hidden = !memoryToken;
    els.adminNote.textContent = memoryToken
      ? 'Isolate, Close and Reset are enabled on each breaker.'
      : 'Paste the admin token to enable Isolate, Close and Reset.';
  }
  for (const card of view.cards.values()) updateActions(card);
}

els.tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = els.token.value.trim();
  els.token.value = '';
  storeToken(token);
  setActionStatus(token ? 'Admin token saved for this tab.' : 'No token entered.', token ? 'ok' : 'error');
  renderAdmin();
});

els.tokenForget.addEventListener('click', () => {
  storeToken('');
  setActionStatus('Admin token forgotten.', 'ok');
  renderAdmin();
  els.token.focus();
});

async function runAction(name, action) {
  if (!memoryToken) {
    setActionStatus('Enter the admin token first.', 'error');
    els.token.focus();
    return;
  }
  setActionStatus(`${action} ${name}…`, 'pending');
  try {
    const res = await fetch(`/dashboard/api/breakers/${encodeURIComponent(name)}/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${memoryToken}` },
      cache: 'no-store',
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok) {
      setActionStatus(`${name}: ${action} done, breaker is now ${body.state}.`, 'ok');
    } else if (res.status === 401 || res.status === 403) {
      setActionStatus(`Refused (${res.status}): ${body.message ?? 'admin token rejected'}.`, 'error');
    } else {
      setActionStatus(`Failed (${res.status}): ${body.message ?? res.statusText}.`, 'error');
    }
  } catch (err) {
    setActionStatus(`Could not reach the server: ${err.message}`, 'error');
  }
}

// ---------------------------------------------------------------- formatting

function duration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  return m % 60 === 0 ? `${Math.floor(m / 60)} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** ms elapsed on the server clock since the latest snapshot (no reliance on the browser's wall clock). */
function sinceSnapshot() {
  return performance.now() - view.receivedAt;
}

function percent(rate) {
  if (rate === null || rate === undefined) return 'no calls';
  return `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)} %`;
}

function probeText(data) {
  switch (data.state) {
    case 'open': {
      const left = data.retryAfterMs - sinceSnapshot();
      return left > 0 ? `in ${duration(left)}` : 'due now (next call probes)';
    }
    case 'half-open':
      return data.retryAfterMs > 0
        ? `probe running (written off in ${duration(data.retryAfterMs)})`
        : 'probing now';
    case 'isolated':
      return 'none: isolated by an operator';
    case 'disabled':
      return 'none: breaker disabled';
    default:
      return 'none needed (calls admitted)';
  }
}

function lastFailureText(data) {
  if (data.lastFailureAt === null) return 'none';
  const ago = view.serverAt - data.lastFailureAt + sinceSnapshot();
  // The public stream carries the failure's kind only; the message is on the admin API.
  const reason = data.lastErrorKind ?? 'unknown reason';
  return `${duration(ago)} ago (${new Date(data.lastFailureAt).toLocaleTimeString()}): ${reason}`;
}

// ---------------------------------------------------------------- breaker cards

function createCard(name) {
  const el = els.template.content.firstElementChild.cloneNode(true);
  const id = `breaker-${view.nextCardId++}`;
  const heading = el.querySelector('.breaker-name');
  heading.id = `${id}-name`;
  heading.textContent = name;
  el.setAttribute('aria-labelledby', heading.id);
  const actions = el.querySelector('.actions');
  actions.querySelector('legend').textContent = `Operator actions for ${name}`;
  for (const button of actions.querySelectorAll('button')) {
    const action = button.dataset.action;
    button.setAttribute('aria-label', `${button.textContent} breaker ${name}`);
    button.addEventListener('click', () => runAction(name, action));
  }
  return { name, el, data: null, seconds: new Map() };
}

function updateActions(card) {
  const actions = card.el.querySelector('.actions');
  actions.hidden = !view.admin;
  for (const button of actions.querySelectorAll('button')) {
    if (memoryToken) button.removeAttribute('aria-disabled');
    else button.setAttribute('aria-disabled', 'true');
  }
}

function setField(card, field, text) {
  const dd = card.el.querySelector(`[data-field="${field}"]`);
  if (dd.textContent !== text) dd.textContent = text;
}

function renderFigures(card) {
  const d = card.data;
  card.el.dataset.state = d.state;
  card.el.querySelector('.state-text').textContent = d.state;
  card.el.querySelector('.state-badge').setAttribute('aria-label', `State: ${d.state}`);
  setField(card, 'failCount', String(d.failCount));
  setField(card, 'failureRate', percent(d.failureRate));
  card.el.querySelector('.rate-window').textContent =
    d.failureRateWindowMs === 60_000 ? '(last minute)' : `(last ${duration(d.failureRateWindowMs)})`;
  setField(card, 'rejected', d.rejected.toLocaleString());
  setField(card, 'probe', probeText(d));
  setField(card, 'lastFailure', lastFailureText(d));
}

function mergeTimeline(card, series) {
  if (series.full) card.seconds.clear();
  series.buckets.forEach((bucket, i) => {
    card.seconds.set(series.start + i, bucket);
  });
  // Drop seconds that left the window (bounded memory in long-lived tabs).
  const oldest = Math.floor(view.serverAt / 1000) - view.windowSeconds + 1;
  for (const second of card.seconds.keys()) {
    if (second < oldest) card.seconds.delete(second);
  }
}

function renderTimeline(card) {
  const n = Math.min(view.rangeSeconds, view.windowSeconds);
  const end = Math.floor(view.serverAt / 1000);
  const start = end - n + 1;
  const rows = [];
  let carry = null;
  let max = 1;
  const totals = [0, 0, 0];
  for (let s = start; s <= end; s++) {
    const bucket = card.seconds.get(s);
    if (bucket) carry = bucket[3];
    const row = bucket ?? [0, 0, 0, carry];
    rows.push(row);
    max = Math.max(max, row[0] + row[1] + row[2]);
    totals[0] += row[0];
    totals[1] += row[1];
    totals[2] += row[2];
  }
  const barTop = 4;
  const barHeight = 78;
  const parts = [];
  // Stacked bars: success at the bottom, then failures, then rejections.
  rows.forEach((row, x) => {
    let y = barTop + barHeight;
    const classes = ['bar-success', 'bar-failure', 'bar-rejected'];
    for (let k = 0; k < 3; k++) {
      if (row[k] === 0) continue;
      const h = (row[k] / max) * barHeight;
      y -= h;
      parts.push(
        `<rect class="${classes[k]}" x="${x}" y="${y.toFixed(2)}" width="1.02" height="${h.toFixed(2)}"/>`,
      );
    }
  });
  // State bands: one rectangle per run of equal states.
  const seen = new Set();
  let runStart = 0;
  for (let x = 1; x <= rows.length; x++) {
    const code = rows[runStart][3];
    if (x < rows.length && rows[x][3] === code) continue;
    if (code !== null && code !== undefined) {
      const state = view.states[code] ?? 'closed';
      seen.add(state);
      parts.push(`<rect class="band-${state}" x="${runStart}" y="88" width="${x - runStart}" height="12"/>`);
    }
    runStart = x;
  }
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${n} 100`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute(
    'aria-label',
    `Last ${duration(n * 1000)}: ${totals[0]} successful, ${totals[1]} failed and ${totals[2]} rejected calls; ` +
      `states: ${[...seen].join(', ') || 'unknown'}; busiest second ${max} calls.`,
  );
  // Only numbers and fixed class names go into this markup; names and messages are set as text elsewhere.
  svg.innerHTML = parts.join('');
  const chart = card.el.querySelector('.chart');
  chart.replaceChildren(svg);
  card.el.querySelector('.axis-start').textContent = `−${duration(n * 1000)}`;
  card.el.querySelector('.timeline-title').textContent = `Calls per second (peak ${max})`;
}

function renderBreakers(list) {
  const names = new Set(list.map((b) => b.name));
  for (const [name, card] of view.cards) {
    if (!names.has(name)) {
      card.el.remove();
      view.cards.delete(name);
    }
  }
  if (list.length === 0) {
    els.breakers.replaceChildren(
      Object.assign(document.createElement('p'), { className: 'empty', textContent: 'No breakers yet.' }),
    );
    return;
  }
  els.breakers.querySelector('.empty')?.remove();
  let previous = null;
  for (const data of list) {
    let card = view.cards.get(data.name);
    if (!card) {
      card = createCard(data.name);
      view.cards.set(data.name, card);
      updateActions(card);
    }
    card.data = data;
    mergeTimeline(card, data.timeline);
    renderFigures(card);
    renderTimeline(card);
    // Keep DOM order equal to the server's order without re-creating (and losing focus in) cards.
    const expected = previous ? previous.nextElementSibling : els.breakers.firstElementChild;
    if (expected !== card.el) {
      if (previous) previous.after(card.el);
      else els.breakers.prepend(card.el);
    }
    previous = card.el;
  }
}

function setRange(seconds) {
  view.rangeSeconds = seconds;
  for (const button of els.rangeButtons) {
    button.setAttribute('aria-pressed', String(Number(button.dataset.range) === seconds));
  }
  for (const card of view.cards.values()) if (card.data) renderTimeline(card);
}

for (const button of els.rangeButtons) {
  button.setAttribute('aria-label', `Show the last ${button.textContent} of the timeline`);
  button.addEventListener('click', () => setRange(Number(button.dataset.range)));
}

// ---------------------------------------------------------------- fallback mix

function renderMix(mix) {
  const known = new Map(LEVELS);
  const entries = Object.entries(mix).filter(([, n]) => n > 0);
  if (entries.length === 0) {
    els.mix.replaceChildren(
      Object.assign(document.createElement('p'), { className: 'empty', textContent: 'No answers yet.' }),
    );
    return;
  }
  const order = (level) => {
    const i = LEVELS.findIndex(([l]) => l === level);
    return i === -1 ? LEVELS.length : i;
  };
  entries.sort((a, b) => order(a[0]) - order(b[0]));
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const table = document.createElement('table');
  table.className = 'mix-table';
  const caption = document.createElement('caption');
  caption.className = 'visually-hidden';
  caption.textContent = `Answers by fallback level, ${total} in total`;
  table.append(caption);
  const head = table.createTHead().insertRow();
  for (const title of ['Level', 'Answers', 'Share', '']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = title;
    if (title === 'Answers' || title === 'Share') th.className = 'num';
    if (title === '')
      th.append(
        Object.assign(document.createElement('span'), { className: 'visually-hidden', textContent: 'Bar' }),
      );
    head.append(th);
  }
  const body = table.createTBody();
  for (const [level, count] of entries) {
    const row = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = known.get(level) ?? level;
    row.append(th);
    const share = count / total;
    const countCell = row.insertCell();
    countCell.className = 'num';
    countCell.textContent = count.toLocaleString();
    const shareCell = row.insertCell();
    shareCell.className = 'num';
    shareCell.textContent = `${(share * 100).toFixed(1)} %`;
    const barCell = row.insertCell();
    barCell.className = 'bar-cell';
    const bar = document.createElement('div');
    bar.className = 'mix-bar';
    bar.dataset.level = level;
    bar.style.width = `${(share * 100).toFixed(1)}%`;
    barCell.append(bar);
  }
  els.mix.replaceChildren(table);
}

// ---------------------------------------------------------------- live connection

function setConnection(kind, text) {
  if (els.conn.dataset.conn !== kind || els.conn.textContent !== text) {
    els.conn.dataset.conn = kind;
    els.conn.textContent = text;
  }
}

function announce(text) {
  els.announcer.textContent = text;
}

function onSnapshot(snapshot) {
  view.serverAt = snapshot.at;
  view.receivedAt = performance.now();
  view.lastEventAt = view.receivedAt;
  view.intervalMs = snapshot.intervalMs;
  if (view.windowSeconds !== snapshot.windowSeconds) {
    view.windowSeconds = snapshot.windowSeconds;
    // Offer only the ranges the server keeps.
    for (const button of els.rangeButtons)
      button.hidden = Number(button.dataset.range) > snapshot.windowSeconds;
    if (view.rangeSeconds > view.windowSeconds) setRange(view.windowSeconds);
  }
  view.states = snapshot.states;
  if (view.admin !== snapshot.admin) {
    view.admin = snapshot.admin;
    renderAdmin();
  }
  renderBreakers(snapshot.breakers);
  renderMix(snapshot.mix);
  els.hiddenNote.textContent = snapshot.hidden > 0 ? `(${snapshot.hidden} more not shown)` : '';
  setConnection('live', 'Live');
}

function onStateChange(change) {
  view.lastEventAt = performance.now();
  const card = view.cards.get(change.breaker);
  if (card?.data) {
    card.data = { ...card.data, state: change.to };
    renderFigures(card);
  }
  announce(`Breaker ${change.breaker} changed from ${change.from} to ${change.to}.`);
}

let source = null;
let retryTimer = null;

function connect() {
  clearTimeout(retryTimer);
  source?.close();
  setConnection('connecting', 'Connecting…');
  source = new EventSource('/dashboard/events');
  source.addEventListener('snapshot', (event) => onSnapshot(JSON.parse(event.data)));
  source.addEventListener('state', (event) => onStateChange(JSON.parse(event.data)));
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // EventSource gives up on an HTTP error (e.g. 503: too many dashboards open); try again later.
      setConnection('stale', 'Disconnected — retrying…');
      retryTimer = setTimeout(connect, 3000);
    } else {
      setConnection('stale', 'Reconnecting…');
    }
  });
}

// Countdowns move between snapshots; a quiet stream turns the badge stale.
setInterval(() => {
  for (const card of view.cards.values()) {
    if (!card.data) continue;
    setField(card, 'probe', probeText(card.data));
    setField(card, 'lastFailure', lastFailureText(card.data));
  }
  const quietFor = performance.now() - view.lastEventAt;
  const staleAfter = Math.max(3 * view.intervalMs, 5000);
  if (view.lastEventAt > 0 && quietFor > staleAfter) {
    setConnection('stale', `Stale — no update for ${duration(quietFor)}, reconnecting…`);
    // A stream that is open but silent is as good as dead: open a fresh one now and then.
    if (quietFor > 3 * staleAfter) {
      view.lastEventAt = performance.now() - staleAfter - 1;
      connect();
    }
  }
}, 500);

renderAdmin();
connect();
