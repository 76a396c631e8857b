// A dashboard: filters from the dashboard's definition and the options the
// API allows this viewer, then every tile fetched and drawn. Filters live
// in the URL, so a view can be shared and drill links land on it.
import {
  t, lang, get, el, errorText, formatValue, formatPeriod, fillTable, numericFormats, ApiError,
} from './app.js';

const root = document.getElementById('dashboard');
const dashID = root.dataset.dashboard;
const form = document.getElementById('filters');
const periodLabel = document.getElementById('period-label');
const tiles = [...root.querySelectorAll('section.tile')];
const charts = new Map(); // tile id -> ECharts instance
const hasCharts = typeof window.echarts !== 'undefined';
let defs = {}; // tile id -> definition from the API
let employees = [];
let abort = null;

const field = (name) => form.elements.namedItem(name);
const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

// ---- filters ----

function setOptions(select, items, { blank } = {}) {
  const keep = select.value;
  const opts = [];
  if (blank) opts.push(el('option', { value: '' }, blank));
  for (const it of items) opts.push(el('option', { value: it.value }, it.label));
  select.replaceChildren(...opts);
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

function fillEmployees(def) {
  const sel = field('employee');
  if (!sel) return;
  const team = field('team')?.value || '';
  const list = employees.filter((e) => !team || e.team_id === team)
    .map((e) => ({ value: e.id, label: e.name || e.id }));
  const required = def?.filters?.employee?.required;
  setOptions(sel, list, { blank: required ? null : t('filter.everyone') });
}

function initFilters(def) {
  const o = def.options || {};
  const d = o.default || {};
  const q = new URLSearchParams(location.search);
  const grain = field('grain');
  if (grain) {
    if (Array.isArray(o.grains) && o.grains.length) {
      setOptions(grain, o.grains.map((g) => ({ value: g, label: t('grain.' + g) })));
    }
    grain.value = q.get('grain') || d.grain || def.filters?.grain?.default || grain.value;
  }
  const period = field('period');
  if (period) {
    const p = q.get('period') || d.period;
    period.value = /^\d{4}-\d{2}-\d{2}$/.test(p || '') ? p : iso(new Date());
  }
  const team = field('team');
  if (team) {
    setOptions(team, (o.teams || []).map((x) => ({ value: x.id, label: x.name || x.id })), { blank: t('filter.all_teams') });
    team.value = q.get('team') ?? d.team ?? '';
    if (team.value === '' && team.options.length && !team.options[0].value) team.selectedIndex = 0;
  }
  employees = o.employees || [];
  const emp = field('employee');
  if (emp) {
    fillEmployees(def);
    const want = q.get('employee') ?? d.employee ?? '';
    if ([...emp.options].some((x) => x.value === want)) emp.value = want;
  }
}

function filterValues() {
  const v = {};
  for (const name of ['grain', 'period', 'team', 'employee']) {
    const f = field(name);
    if (f && f.value !== '') v[name] = f.value;
  }
  return v;
}

function syncURL() {
  const q = new URLSearchParams(filterValues());
  history.replaceState(null, '', location.pathname + (q.toString() ? '?' + q : ''));
}

// ---- links ----

function tileURL(tileID, format) {
  const q = new URLSearchParams(filterValues());
  q.set('lang', lang);
  if (format) q.set('format', format);
  return `/api/dashboards/${encodeURIComponent(dashID)}/tiles/${encodeURIComponent(tileID)}?${q}`;
}

// drillHref opens the events behind a KPI value: the row's own employee
// or team when it has one, else the filters' subject, else the company.
function drillHref(kpi, res, row, idx, label, format) {
  const q = new URLSearchParams({ kpi });
  if (res.grain) q.set('grain', res.grain);
  if (res.period_start) q.set('period', res.period_start);
  const f = filterValues();
  const emp = idx.employee_id !== undefined ? row[idx.employee_id] : null;
  const team = idx.team_id !== undefined ? row[idx.team_id] : null;
  if (emp) q.set('employee_id', emp);
  else if (team) q.set('team_id', team);
  else if (f.employee) q.set('employee_id', f.employee);
  else if (f.team) q.set('team_id', f.team);
  // For the drill page's heading and number format only.
  if (label) q.set('label', label);
  if (format) q.set('format', format);
  return '/drill?' + q;
}

// tileDrillHref opens the dashboard a tile drills into, with filters taken
// from the clicked row.
function tileDrillHref(def, row, idx) {
  const drill = def?.drill;
  if (!drill?.dashboard) return null;
  const f = filterValues();
  const q = new URLSearchParams();
  if (f.grain) q.set('grain', f.grain);
  if (f.period) q.set('period', f.period);
  for (const [filter, col] of Object.entries(drill.filters || {})) {
    if (idx[col] === undefined || row[idx[col]] === null || row[idx[col]] === undefined) return null;
    q.set(filter, row[idx[col]]);
  }
  return `/dashboards/${encodeURIComponent(drill.dashboard)}?${q}`;
}

// ---- tiles ----

function setState(section, state, message) {
  section.dataset.state = state;
  section.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  const msg = section.querySelector('.tile-msg');
  msg.textContent = message || '';
  msg.hidden = !message;
}

function settle() {
  if (tiles.every((s) => s.dataset.state !== 'loading')) root.dataset.loaded = 'true';
}

async function loadTile(section, signal) {
  const id = section.dataset.tile;
  setState(section, 'loading');
  section.querySelectorAll('a.export').forEach((a) => { a.href = tileURL(id, a.dataset.format); });
  try {
    const res = await get(tileURL(id), { signal });
    if (signal.aborted) return;
    // The server knows the period the date falls in: name that one.
    if (res.period_start && res.grain) periodLabel.textContent = formatPeriod(res.grain, res.period_start);
    draw(section, res);
  } catch (err) {
    if (signal.aborted || err?.name === 'AbortError') return;
    if (err instanceof ApiError && err.status === 403) {
      section.querySelector('.tile-body').replaceChildren();
      setState(section, 'unavailable', t('tile.unavailable'));
    } else {
      section.querySelector('.tile-body').replaceChildren();
      setState(section, 'error', errorText(err));
    }
  }
  settle();
}

function loadAll() {
  abort?.abort();
  abort = new AbortController();
  root.dataset.loaded = 'false';
  const f = filterValues();
  periodLabel.textContent = f.period ? formatPeriod(f.grain || 'month', f.period) : '';
  if (!tiles.length) root.dataset.loaded = 'true';
  for (const s of tiles) loadTile(s, abort.signal);
}

function draw(section, res) {
  const body = section.querySelector('.tile-body');
  const cols = res.columns || [];
  const rows = res.rows || [];
  const idx = {};
  cols.forEach((c, i) => { idx[c.name] = i; });
  const kind = res.kind || section.dataset.kind;
  const def = defs[section.dataset.tile] || {};
  if (!rows.length || (kind === 'figure' && (idx.value === undefined || rows[0][idx.value] === null))) {
    disposeChart(section.dataset.tile);
    body.replaceChildren();
    setState(section, 'empty', t('tile.empty'));
    return;
  }
  const ctx = { res, cols, rows, idx, def, section };
  if (kind === 'figure') {
    disposeChart(section.dataset.tile);
    body.replaceChildren(figure(ctx));
  } else if (kind === 'table' || !hasCharts) {
    disposeChart(section.dataset.tile);
    body.replaceChildren(table(ctx));
  } else {
    chart(kind, ctx, body);
  }
  setState(section, 'ready', res.truncated ? t('tile.truncated') : '');
}

// lowerIsBetter: whether a rise is bad news, to colour the change. The
// tile's `better` says; without it, a guess from the tile and column
// names (ranks, alerts, refusals, delays).
function lowerIsBetter(def, col) {
  if (def.better) return def.better === 'lower';
  if (['minutes', 'hours', 'days'].includes(col?.format)) return true; // waiting times
  const s = `${def.id || ''} ${col?.name || ''} ${def.kpi || ''} ${col?.kpi || ''}`.toLowerCase();
  return /rank|alert|firing|fired|refus|overdue|churn|late|lag|backfill|burst|breach|complaint|reopen|gap|stale|error|fail|cost|response|cycle/.test(s);
}

// previousText names what the figure is compared with: the tile's own
// label for its previous column when it has one ("Same days of the
// previous period"), else the whole previous period.
function previousText(col, v) {
  const label = col?.label;
  return label && label !== col.name ? t('figure.vs_labelled', { v, label }) : t('figure.vs_previous', { v });
}

function figure({ res, cols, rows, idx, def, section }) {
  const row = rows[0];
  const vcol = cols[idx.value];
  const v = row[idx.value];
  const fmt = vcol.format;
  const valueText = formatValue(v, fmt);
  const kpi = vcol.kpi || def.kpi;
  const value = kpi
    ? el('a', { class: 'figure-value', href: drillHref(kpi, res, row, idx, section.querySelector('h2')?.textContent, fmt), title: t('tile.drill') }, valueText)
    : el('span', { class: 'figure-value' }, valueText);
  const box = el('div', { class: 'figure' }, value);
  const prev = idx.previous !== undefined ? row[idx.previous] : null;
  if (prev !== null && prev !== undefined && typeof v === 'number') {
    let change, dir;
    if (fmt === 'percent') {
      const pts = (v - prev) * 100;
      dir = Math.sign(Math.round(pts * 10));
      change = t('figure.points', { n: new Intl.NumberFormat(lang, { maximumFractionDigits: 1, signDisplay: 'exceptZero' }).format(pts) });
    } else if (prev !== 0) {
      const rel = (v - prev) / Math.abs(prev);
      dir = Math.sign(Math.round(rel * 1000));
      change = new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' }).format(rel);
    } else {
      dir = Math.sign(v);
      change = formatValue(v - prev, fmt);
    }
    const good = lowerIsBetter(def, vcol) ? -dir : dir;
    const arrow = dir > 0 ? '▲' : dir < 0 ? '▼' : '■';
    box.append(el('div', { class: 'figure-change ' + (good > 0 ? 'good' : good < 0 ? 'bad' : 'flat'), 'data-direction': dir > 0 ? 'up' : dir < 0 ? 'down' : 'flat' },
      el('span', { class: 'arrow', 'aria-hidden': 'true' }, arrow), ' ', change,
      el('span', { class: 'muted' }, ' ' + previousText(cols[idx.previous], formatValue(prev, fmt)))));
  }
  const target = idx.target !== undefined ? row[idx.target] : null;
  if (target !== null && target !== undefined) {
    const reached = typeof v === 'number' && target ? v / target : null;
    box.append(el('div', { class: 'figure-target' },
      t('figure.target', { v: formatValue(target, fmt) }),
      reached !== null ? ' · ' + t('figure.reached', { p: formatValue(reached, 'percent') }) : ''));
  }
  const extra = cols.filter((c) => !c.hidden && !['value', 'previous', 'target'].includes(c.name));
  if (extra.length) {
    box.append(el('dl', { class: 'figure-extra' }, extra.map((c) => [
      el('dt', null, c.label || c.name), el('dd', null, formatValue(row[idx[c.name]], c.format))])));
  }
  return box;
}

function table({ res, cols, rows, idx, def }) {
  const shown = cols.map((c, i) => ({ ...c, index: i })).filter((c) => !c.hidden);
  const firstText = shown.find((c) => !numericFormats.has(c.format)) || shown[0];
  const columns = shown.map((c) => ({
    label: c.label || c.name,
    format: c.format,
    index: c.index,
    cell: (r) => {
      const text = formatValue(r[c.index], c.format);
      if (c.kpi && r[c.index] !== null && r[c.index] !== undefined) {
        return el('a', { href: drillHref(c.kpi, res, r, idx, c.label, c.format), class: 'kpi-link', title: t('tile.drill') }, text);
      }
      if (c === firstText) {
        const href = tileDrillHref(def, r, idx);
        if (href) return el('a', { href, class: 'drill-link' }, text);
      }
      return text;
    },
  }));
  const tbl = el('table', { class: 'tile-table data' });
  fillTable(tbl, columns, rows.slice());
  return el('div', { class: 'table-wrap' }, tbl);
}

// ---- charts ----

// Series named after alert severities keep their usual colours.
const severityColors = { critical: '#dc2626', warning: '#f59e0b', info: '#3b82f6' };
const palette = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#475569'];
const compact = new Intl.NumberFormat(lang, { notation: 'compact', maximumFractionDigits: 1 });

function axisFormatter(fmt) {
  return (v) => {
    if (fmt === 'percent') return formatValue(v, 'percent');
    if (typeof v !== 'number') return String(v);
    if (['minutes', 'hours', 'days'].includes(fmt)) return formatValue(v, fmt);
    return Math.abs(v) >= 10000 ? compact.format(v) : formatValue(v, 'score');
  };
}

// xLabel shows category values: period starts by their period ("Oct
// 2026"), other dates short, the rest by their format.
function xLabeller(ctx, name) {
  const fmt = colOf(ctx, name).format;
  const xs = ctx.rows.map((r) => r[ctx.idx[name]]);
  const firsts = fmt === 'date' && ['month', 'quarter'].includes(ctx.res.grain) &&
    xs.every((x) => typeof x === 'string' && /^\d{4}-\d{2}-01/.test(x));
  return (x) => (firsts ? formatPeriod(ctx.res.grain, x.slice(0, 10)) : formatValue(x, fmt));
}

function disposeChart(id) {
  const c = charts.get(id);
  if (c) {
    c.dispose();
    charts.delete(id);
  }
}

const resizer = new ResizeObserver((entries) => {
  for (const e of entries) window.echarts.getInstanceByDom(e.target)?.resize();
});

function chart(kind, ctx, body) {
  const id = ctx.section.dataset.tile;
  let node = body.querySelector('div.chart');
  if (!node) {
    disposeChart(id);
    node = el('div', { class: 'chart', role: 'img', 'aria-label': ctx.section.querySelector('h2')?.textContent || '' });
    body.replaceChildren(node);
  }
  let c = charts.get(id);
  if (!c) {
    c = window.echarts.init(node, null, { renderer: 'canvas' });
    charts.set(id, c);
    resizer.observe(node);
  }
  c.off('click');
  const option = ({ line: lineOption, bar: lineOption, funnel: funnelOption, leaderboard: leaderOption, heatmap: heatOption }[kind] || lineOption)(kind, ctx, c);
  c.setOption({ color: palette, textStyle: { fontFamily: 'inherit' }, animationDuration: 300, ...option }, true);
}

// esc keeps data out of the HTML of custom tooltips.
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const colOf = (ctx, name) => ctx.cols[ctx.idx[name]] || {};
const labelFor = (ctx, name) => colOf(ctx, name).label || name;

function lineOption(kind, ctx, c) {
  const { rows, idx } = ctx;
  const yf = colOf(ctx, 'y').format;
  const xl = xLabeller(ctx, 'x');
  const xs = [...new Set(rows.map((r) => r[idx.x]))];
  // Time runs left to right whatever order the query chose.
  if (['date', 'datetime'].includes(colOf(ctx, 'x').format) || xs.every((x) => typeof x === 'number')) {
    xs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  const hasSeries = idx.series !== undefined;
  const names = hasSeries ? [...new Set(rows.map((r) => r[idx.series]))] : [labelFor(ctx, 'y')];
  const series = names.map((n) => {
    const byX = new Map(rows.filter((r) => !hasSeries || r[idx.series] === n).map((r) => [r[idx.x], r[idx.y]]));
    return {
      name: n === null ? '–' : String(n), type: kind === 'bar' ? 'bar' : 'line',
      itemStyle: severityColors[n] ? { color: severityColors[n] } : undefined,
      lineStyle: severityColors[n] ? { color: severityColors[n] } : undefined,
      stack: kind === 'bar' && hasSeries ? 'total' : undefined,
      smooth: false, showSymbol: xs.length < 40,
      data: xs.map((x) => (byX.has(x) ? byX.get(x) : null)),
    };
  });
  if (ctx.def?.drill) {
    c.on('click', (p) => {
      const r = rows.find((row) => row[idx.x] === xs[p.dataIndex] && (!hasSeries || String(row[idx.series]) === p.seriesName));
      const href = r && tileDrillHref(ctx.def, r, idx);
      if (href) location.assign(href);
    });
  }
  return {
    grid: { left: 8, right: 16, top: names.length > 1 ? 36 : 16, bottom: 8, containLabel: true },
    legend: names.length > 1 ? { type: 'scroll', top: 0 } : undefined,
    tooltip: { trigger: 'axis', valueFormatter: (v) => formatValue(v, yf) },
    xAxis: { type: 'category', data: xs.map(xl), axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', axisLabel: { formatter: axisFormatter(yf) } },
    series,
  };
}

function funnelOption(kind, ctx) {
  const { rows, idx } = ctx;
  const vf = colOf(ctx, 'value').format;
  const conv = idx.conversion_to_next;
  const data = rows.map((r) => ({ name: String(r[idx.stage]), value: r[idx.value], conv: conv !== undefined ? r[conv] : null }));
  return {
    tooltip: {
      trigger: 'item',
      formatter: (p) => `${esc(p.name)}: ${esc(formatValue(p.value, vf))}` +
        (p.data.conv !== null && p.data.conv !== undefined ? `<br>${esc(t('chart.conversion'))}: ${esc(formatValue(p.data.conv, 'percent'))}` : ''),
    },
    series: [{
      type: 'funnel', sort: 'none', left: '2%', width: '58%', top: 8, bottom: 8, gap: 2, minSize: '6%',
      label: { show: true, position: 'right', color: '#374151', formatter: (p) => `${p.name}  ${formatValue(p.value, vf)}` },
      labelLine: { show: true },
      data,
    }],
  };
}

function leaderOption(kind, ctx, c) {
  const { rows, idx } = ctx;
  const vf = colOf(ctx, 'value').format;
  const sorted = rows.slice().sort((a, b) => (idx.rank !== undefined ? a[idx.rank] - b[idx.rank] : b[idx.value] - a[idx.value])).slice(0, 20);
  c.on('click', (p) => {
    const href = tileDrillHref(ctx.def, sorted[p.dataIndex], idx);
    if (href) location.assign(href);
  });
  return {
    grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => formatValue(v, vf) },
    xAxis: { type: 'value', axisLabel: { formatter: axisFormatter(vf) } },
    yAxis: {
      type: 'category', inverse: true,
      data: sorted.map((r, i) => `${idx.rank !== undefined ? r[idx.rank] : i + 1}. ${r[idx.name]}`),
    },
    series: [{
      type: 'bar', data: sorted.map((r) => r[idx.value]), barMaxWidth: 22,
      label: { show: true, position: 'right', formatter: (p) => formatValue(p.value, vf) },
      itemStyle: { borderRadius: [0, 4, 4, 0] },
    }],
  };
}

function heatOption(kind, ctx, c) {
  const { rows, idx } = ctx;
  const xl = xLabeller(ctx, 'x');
  const vf = colOf(ctx, 'value').format;
  const xs = [...new Set(rows.map((r) => r[idx.x]))];
  const ys = [...new Set(rows.map((r) => r[idx.y]))];
  const vals = rows.map((r) => r[idx.value]).filter((v) => typeof v === 'number');
  const data = rows.map((r) => [xs.indexOf(r[idx.x]), ys.indexOf(r[idx.y]), r[idx.value]]);
  c.on('click', (p) => {
    const r = rows[p.dataIndex];
    const href = r && tileDrillHref(ctx.def, r, idx);
    if (href) location.assign(href);
  });
  return {
    grid: { left: 8, right: 8, top: 8, bottom: 64, containLabel: true },
    tooltip: {
      formatter: (p) => `${esc(xl(xs[p.value[0]]))} · ${esc(ys[p.value[1]])}<br>${esc(formatValue(p.value[2], vf))}`,
    },
    xAxis: { type: 'category', data: xs.map(xl), splitArea: { show: true }, axisLabel: { hideOverlap: true } },
    yAxis: { type: 'category', data: ys.map(String), splitArea: { show: true } },
    visualMap: {
      min: vals.length ? Math.min(...vals) : 0, max: vals.length ? Math.max(...vals) : 1,
      calculable: true, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120,
      formatter: (v) => formatValue(v, vf), inRange: { color: ['#eff6ff', '#93c5fd', '#2563eb', '#1e3a8a'] },
    },
    series: [{
      type: 'heatmap', data,
      label: { show: xs.length * ys.length <= 80, formatter: (p) => formatValue(p.value[2], vf), fontSize: 11 },
    }],
  };
}

// ---- start ----

async function loadMenu() {
  const menu = document.getElementById('dashboard-menu');
  try {
    const res = await get('/api/dashboards');
    const list = (res.dashboards || []).slice().sort((a, b) => (a.order - b.order) || String(a.id).localeCompare(b.id));
    if (!list.length) return;
    menu.replaceChildren(...list.map((d) => el('option', { value: d.id, selected: d.id === dashID }, d.title?.[lang] || d.title?.en || d.id)));
  } catch { /* the menu keeps this dashboard only */ }
  menu.addEventListener('change', () => location.assign('/dashboards/' + encodeURIComponent(menu.value)));
}

async function start() {
  loadMenu();
  let def = {};
  try {
    def = await get('/api/dashboards/' + encodeURIComponent(dashID));
  } catch (err) {
    const denied = err instanceof ApiError && err.status === 403;
    const notice = document.getElementById('dashboard-error');
    notice.textContent = denied ? t('dashboard.unavailable') : errorText(err);
    notice.hidden = false;
    for (const s of tiles) {
      s.querySelector('.tile-body').replaceChildren();
      setState(s, denied ? 'unavailable' : 'error', denied ? t('tile.unavailable') : t('error.generic'));
    }
    root.dataset.loaded = 'true';
    return;
  }
  for (const tl of def.tiles || []) defs[tl.id] = tl;
  initFilters(def);
  form.addEventListener('change', (ev) => {
    if (ev.target.name === 'team') fillEmployees(def);
    if (ev.target.name === 'period' && !ev.target.value) return;
    syncURL();
    loadAll();
  });
  form.addEventListener('submit', (ev) => ev.preventDefault());
  syncURL();
  loadAll();
}

start();
