// Transform runs: each run's status and counts; a run opened shows its
// data tests (failures first) and its models.
import { t, get, el, errorText, formatValue, formatDateTime, formatMs, showError } from './app.js';

const runs = document.getElementById('runs');
const detail = document.getElementById('run-detail');
const errBox = document.getElementById('transforms-error');
let current = null;

const statusBadge = (s) => el('span', { class: 'badge status-' + s }, t('status.' + s) !== 'status.' + s ? t('status.' + s) : s);
const num = (v) => el('td', { class: 'num' }, formatValue(v, 'integer'));

async function loadRuns() {
  try {
    const res = await get('/api/transforms/runs?limit=30');
    const list = res.runs || [];
    runs.tBodies[0].replaceChildren(...list.map((r) => {
      const open = el('button', { type: 'button', class: 'linkish run-link' }, '#' + r.run_id);
      open.addEventListener('click', () => openRun(r.run_id));
      const tr = el('tr', { 'data-run-id': r.run_id, 'data-status': r.status, class: r.run_id === current ? 'selected' : null },
        el('td', null, open, r.full_rebuild ? el('small', { class: 'muted' }, ' ' + t('transforms.full')) : ''),
        el('td', null, formatDateTime(r.started_at)),
        el('td', null, statusBadge(r.status)),
        el('td', { class: 'num' }, formatMs(r.duration_ms)),
        el('td', { class: 'num' }, t('transforms.ok_failed', { ok: formatValue(r.models_ok ?? 0, 'integer'), failed: formatValue(r.models_failed ?? 0, 'integer') })),
        el('td', { class: 'num' }, t('transforms.passed_failed', { ok: formatValue(r.tests_passed ?? 0, 'integer'), failed: formatValue(r.tests_failed ?? 0, 'integer') })));
      return tr;
    }));
    if (current === null && list.length) openRun((list.find((r) => r.status !== 'running') || list[0]).run_id);
  } catch (err) {
    showError(errBox, errorText(err));
  }
}

async function openRun(id) {
  current = id;
  runs.querySelectorAll('tr[data-run-id]').forEach((tr) => tr.classList.toggle('selected', String(tr.dataset.runId) === String(id)));
  try {
    const r = await get('/api/transforms/runs/' + encodeURIComponent(id));
    document.getElementById('run-title').textContent = t('transforms.run_title', { id: r.run_id, at: formatDateTime(r.started_at) });
    showError(document.getElementById('run-error'), r.error || '');
    const rank = { error: 0, fail: 1, failed: 1, pass: 2 };
    const tests = (r.tests || []).slice().sort((a, b) => (rank[a.status] ?? 1) - (rank[b.status] ?? 1));
    document.querySelector('#data-tests tbody').replaceChildren(...tests.map((x) => el('tr', { 'data-status': x.status },
      el('td', null, x.model), el('td', null, x.test), el('td', null, statusBadge(x.status)), num(x.failures),
      el('td', null, x.error || (x.status !== 'pass' ? el('code', { class: 'excerpt' }, x.query || '') : '')))));
    document.querySelector('#run-models tbody').replaceChildren(...(r.models || []).map((m) => el('tr', { 'data-status': m.status },
      el('td', null, m.model), el('td', null, m.layer), el('td', null, statusBadge(m.status)),
      el('td', { class: 'num' }, formatMs(m.duration_ms)), num(m.rows), num(m.rows_changed),
      el('td', null, m.error || ''))));
    detail.hidden = false;
  } catch (err) {
    showError(errBox, errorText(err));
  }
}

loadRuns();
setInterval(() => { if (!document.hidden) loadRuns(); }, 30000);
