// Ad-hoc SQL for analysts: run (button or Ctrl+Enter), see the rows, save
// the result as CSV, and reuse earlier or saved statements.
import { t, get, request, el, errorText, formatValue, formatDateTime, formatMs, fillTable, showError, download, toast } from './app.js';

const editor = document.getElementById('sql');
const runBtn = document.getElementById('run-query');
const result = document.getElementById('query-result');
const errorBox = document.getElementById('query-error');
const status = document.getElementById('query-status');
const csvLink = document.getElementById('download-csv');
const historyList = document.getElementById('query-history');
const saved = document.getElementById('saved-queries');
let lastSQL = '';

const numericType = (type) => /INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC|HUGEINT/i.test(type || '');
const typeFormat = (type) => {
  if (/^DATE$/i.test(type || '')) return 'date';
  if (/TIMESTAMP/i.test(type || '')) return 'datetime';
  if (/INT/i.test(type || '')) return 'integer';
  if (numericType(type)) return 'number';
  return 'text';
};

async function run() {
  const sql = editor.value.trim();
  if (!sql) {
    showError(errorBox, t('sql.empty'));
    return;
  }
  runBtn.disabled = true;
  showError(errorBox, '');
  status.textContent = t('sql.running');
  result.setAttribute('aria-busy', 'true');
  try {
    const res = await request('POST', '/api/query', { sql, format: 'json' });
    const cols = (res.columns || []).map((c, i) => {
      const name = typeof c === 'string' ? c : c.name;
      return { label: name, format: typeFormat(c.type), index: i };
    });
    fillTable(result, cols, res.rows || []);
    lastSQL = sql;
    csvLink.setAttribute('aria-disabled', 'false');
    status.textContent = t(res.truncated ? 'sql.rows_truncated' : 'sql.rows', {
      n: formatValue(res.row_count ?? (res.rows || []).length, 'integer'), ms: formatMs(res.elapsed_ms),
    });
  } catch (err) {
    result.tHead?.replaceChildren();
    result.tBodies[0]?.replaceChildren();
    status.textContent = '';
    showError(errorBox, errorText(err));
  }
  result.setAttribute('aria-busy', 'false');
  runBtn.disabled = false;
  loadHistory();
}

async function downloadCSV(ev) {
  ev.preventDefault();
  const sql = lastSQL || editor.value.trim();
  if (!sql) {
    showError(errorBox, t('sql.empty'));
    return;
  }
  try {
    const res = await request('POST', '/api/query', { sql, format: 'csv' }, { raw: true });
    download(await res.blob(), 'query.csv');
  } catch (err) {
    showError(errorBox, errorText(err));
  }
}

// The API's list: the first array in the answer, so small shape changes
// do not break the page.
const firstArray = (res) => (Array.isArray(res) ? res : Object.values(res || {}).find(Array.isArray) || []);

async function loadHistory() {
  try {
    const list = firstArray(await get('/api/query/history')).slice(0, 50);
    historyList.replaceChildren(...list.map((h) => {
      const when = h.ran_at || h.started_at || h.created_at || h.at;
      const b = el('button', { type: 'button', class: 'linkish', title: h.sql }, h.sql);
      b.addEventListener('click', () => { editor.value = h.sql; editor.focus(); });
      return el('li', { class: h.error ? 'failed' : null }, b,
        el('small', { class: 'muted' }, [when ? formatDateTime(when) : '', h.error ? ' · ' + t('sql.failed')
          : h.row_count !== undefined ? ' · ' + t('sql.rows_short', { n: formatValue(h.row_count, 'integer') }) : ''].join('')));
    }));
    if (!list.length) historyList.replaceChildren(el('li', { class: 'muted empty-note' }, t('sql.no_history')));
  } catch (err) {
    historyList.replaceChildren(el('li', { class: 'muted' }, errorText(err)));
  }
}

async function loadSaved() {
  const ul = saved.querySelector('ul');
  const note = saved.querySelector('.empty-note');
  try {
    const list = firstArray(await get('/api/queries'));
    note.hidden = list.length > 0;
    ul.replaceChildren(...list.map((q) => {
      const open = el('button', { type: 'button', class: 'linkish', title: q.sql }, q.name || q.sql);
      open.addEventListener('click', () => { editor.value = q.sql; editor.focus(); });
      const del = el('button', { type: 'button', class: 'icon danger', 'aria-label': t('common.delete'), title: t('common.delete') }, '×');
      del.addEventListener('click', async () => {
        if (!confirm(t('sql.confirm_delete', { name: q.name || '' }))) return;
        try { await request('DELETE', '/api/queries/' + encodeURIComponent(q.id)); loadSaved(); } catch (err) { toast(errorText(err)); }
      });
      return el('li', { 'data-query-id': q.id }, open, del);
    }));
  } catch (err) {
    note.hidden = false;
    note.textContent = errorText(err);
  }
}

async function save() {
  const sql = editor.value.trim();
  const nameInput = document.getElementById('save-name');
  const name = nameInput.value.trim();
  if (!sql || !name) {
    showError(errorBox, t(sql ? 'sql.name_needed' : 'sql.empty'));
    return;
  }
  try {
    await request('POST', '/api/queries', { name, sql });
    nameInput.value = '';
    toast(t('sql.saved_ok'));
    loadSaved();
  } catch (err) {
    showError(errorBox, errorText(err));
  }
}

runBtn.addEventListener('click', run);
editor.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    run();
  }
});
csvLink.addEventListener('click', downloadCSV);
document.getElementById('save-query').addEventListener('click', save);
loadHistory();
loadSaved();
