// Shared by every page: the catalogue, API calls with the CSRF token,
// number and date formats, small DOM helpers, and the header's sign-out.

const readJSON = (id) => {
  const node = document.getElementById(id);
  if (!node) return {};
  try { return JSON.parse(node.textContent) || {}; } catch { return {}; }
};

export const strings = readJSON('i18n');
export const pageData = readJSON('page-data');
export const lang = document.documentElement.lang === 'zh-CN' ? 'zh-CN' : 'en';
const locale = lang === 'zh-CN' ? 'zh-CN' : 'en-US';

// t is the catalogue text of key, with {name} placeholders filled.
export function t(key, vars) {
  let s = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
  if (vars) {
    for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
  }
  return s;
}

// ApiError carries the status and the server's message.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || '';

// request calls the API. Unsafe methods carry the CSRF token; 401 sends
// the browser to the sign-in page. raw: return the Response itself.
export async function request(method, path, body, { raw = false, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf();
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401 && document.body.dataset.page !== 'login') {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    throw new ApiError(401, t('error.signed_out'));
  }
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = (await res.json()).error || msg; } catch { /* not JSON */ }
    throw new ApiError(res.status, msg);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

export const get = (path, opts) => request('GET', path, undefined, opts);

// errorText puts an API error in words for the page.
export function errorText(err) {
  if (!(err instanceof ApiError)) return t('error.network');
  switch (err.status) {
    case 403: return t('error.forbidden');
    case 404: return t('error.not_found') + (err.message ? ' (' + err.message + ')' : '');
    case 503: return t('error.unavailable') + (err.message ? ' (' + err.message + ')' : '');
    case 429: return t('error.busy');
    case 504: return t('error.timeout');
  }
  return err.message || t('error.generic');
}

// ---- formats ----

const nf = (opts) => new Intl.NumberFormat(locale, opts);
const fmtInt = nf({ maximumFractionDigits: 0 });
const fmt1 = nf({ maximumFractionDigits: 1 });
const fmt2 = nf({ minimumFractionDigits: 2, maximumFractionDigits: 2 });
const fmtPct = nf({ style: 'percent', maximumFractionDigits: 1 });

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const toNum = (v) => (isNum(v) ? v : typeof v === 'string' && v.trim() !== '' && !isNaN(+v) ? +v : null);

// formatNumber shows a number with the locale's separators.
export function formatNumber(v, digits = 0) {
  const n = toNum(v);
  if (n === null) return '–';
  return digits === 0 ? fmtInt.format(n) : nf({ maximumFractionDigits: digits }).format(n);
}

// formatMoney: thousands separators; cents only on small amounts.
export function formatMoney(v) {
  const n = toNum(v);
  if (n === null) return '–';
  return Math.abs(n) >= 1000 || Number.isInteger(n) ? fmtInt.format(n) : fmt2.format(n);
}

// formatDuration shows minutes as "2 h 5 min" / "2小时5分钟".
export function formatDuration(minutes) {
  const n = toNum(minutes);
  if (n === null) return '–';
  const neg = n < 0 ? '-' : '';
  let m = Math.round(Math.abs(n));
  if (m < 1 && Math.abs(n) > 0) return neg + t('unit.under_minute');
  const d = Math.floor(m / 1440); m -= d * 1440;
  const h = Math.floor(m / 60); m -= h * 60;
  const parts = [];
  if (d) parts.push(t('unit.days', { n: fmtInt.format(d) }));
  if (h) parts.push(t('unit.hours', { n: h }));
  if (m && !d) parts.push(t('unit.minutes', { n: m }));
  if (!parts.length) parts.push(t('unit.minutes', { n: 0 }));
  return neg + parts.join(lang === 'zh-CN' ? '' : ' ');
}

export function formatMs(ms) {
  const n = toNum(ms);
  if (n === null) return '–';
  if (n < 1000) return t('unit.ms', { n: fmtInt.format(n) });
  if (n < 60000) return t('unit.seconds', { n: fmt1.format(n / 1000) });
  return formatDuration(n / 60000);
}

const parseDate = (v) => {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const [y, m, d] = v.split('-').map(Number);
    return new Date(y, m - 1, d);
  }
  const d = new Date(v);
  return isNaN(d) ? null : d;
};
const dateFmt = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
const monthFmt = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long' });

export function formatDate(v) {
  const d = parseDate(v);
  return d ? dateFmt.format(d) : (v ?? '–');
}

export function formatDateTime(v) {
  const d = parseDate(v);
  return d ? dateTimeFmt.format(d) : (v ?? '–');
}

// formatPeriod names a period by its grain: "Dec 2026", "2026年第4季度",
// "week of 30 Nov 2026".
export function formatPeriod(grain, start) {
  const d = parseDate(start);
  if (!d) return '';
  switch (grain) {
    case 'month': return monthFmt.format(d);
    case 'quarter': return t('period.quarter', { y: d.getFullYear(), q: Math.floor(d.getMonth() / 3) + 1 });
    case 'week': return t('period.week', { d: dateFmt.format(d) });
    default: return dateFmt.format(d);
  }
}

// formatValue shows a cell by its column format.
export function formatValue(v, format) {
  if (v === null || v === undefined || v === '') return '–';
  switch (format) {
    case 'money': return formatMoney(v);
    case 'integer': return formatNumber(v, 0);
    case 'number': return formatNumber(v, 2);
    case 'score': return formatNumber(v, 1);
    case 'percent': { const n = toNum(v); return n === null ? String(v) : fmtPct.format(n); }
    case 'minutes': return formatDuration(v);
    case 'hours': { const n = toNum(v); return n === null ? String(v) : formatDuration(n * 60); }
    case 'days': { const n = toNum(v); return n === null ? String(v) : t('unit.days', { n: fmt1.format(n) }); }
    case 'date': return formatDate(v);
    case 'datetime': return formatDateTime(v);
    case 'text': return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  if (isNum(v)) return formatNumber(v, 2);
  if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export const numericFormats = new Set(['money', 'integer', 'number', 'score', 'percent', 'minutes', 'hours', 'days']);

// ---- DOM ----

// el builds an element: attrs are attributes (dataset via data-*),
// children strings or nodes.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function showError(node, text) {
  if (!node) return;
  node.textContent = text || '';
  node.hidden = !text;
}

let toastTimer;
export function toast(text) {
  const n = document.getElementById('toast');
  if (!n) return;
  n.textContent = text;
  n.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { n.hidden = true; }, 4000);
}

// sortRows sorts rows in place by column index, numbers before text.
export function sortRows(rows, idx, dir) {
  rows.sort((a, b) => {
    const x = a[idx], y = b[idx];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    const nx = toNum(x), ny = toNum(y);
    const c = nx !== null && ny !== null ? nx - ny : String(x).localeCompare(String(y), locale);
    return dir * c;
  });
}

// fillTable renders columns [{label, format, cell?(row) → node|string}]
// and rows into a table; headers sort on click.
export function fillTable(table, columns, rows, { sortable = true, rowAttrs } = {}) {
  const thead = table.tHead || table.createTHead();
  const tbody = table.tBodies[0] || table.createTBody();
  let sort = { idx: -1, dir: 1 };
  const draw = () => {
    tbody.replaceChildren(...rows.map((r) => {
      const tr = el('tr', rowAttrs ? rowAttrs(r) : null);
      columns.forEach((c) => {
        const v = c.cell ? c.cell(r) : formatValue(r[c.index], c.format);
        tr.append(el('td', { class: numericFormats.has(c.format) ? 'num' : c.format === 'datetime' || c.format === 'date' ? 'nowrap' : null }, v));
      });
      return tr;
    }));
  };
  thead.replaceChildren(el('tr', null, columns.map((c, i) => {
    const th = el('th', { scope: 'col', class: numericFormats.has(c.format) ? 'num' : null });
    if (sortable && c.index !== undefined) {
      const b = el('button', { type: 'button', class: 'sort' }, c.label);
      b.addEventListener('click', () => {
        sort = { idx: i, dir: sort.idx === i ? -sort.dir : (numericFormats.has(c.format) ? -1 : 1) };
        sortRows(rows, c.index, sort.dir);
        thead.querySelectorAll('th').forEach((h) => h.removeAttribute('aria-sort'));
        th.setAttribute('aria-sort', sort.dir > 0 ? 'ascending' : 'descending');
        draw();
      });
      th.append(b);
    } else {
      th.append(c.label);
    }
    return th;
  })));
  draw();
}

// download saves a Blob under name.
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// The header: sign out ends the session, then shows the sign-in page.
document.getElementById('sign-out')?.addEventListener('click', async () => {
  try { await request('DELETE', '/api/session'); } catch { /* signed out already */ }
  location.assign('/login');
});
