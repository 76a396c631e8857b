// Alerts: what fires now (filter by state and rule), silencing an alert's
// rule and subject for a while with a reason, and the silences in force.
import { t, lang, pageData, get, request, el, errorText, formatDateTime, showError, toast } from './app.js';

const filters = document.getElementById('alert-filters');
const table = document.getElementById('alerts');
const silTable = document.getElementById('silences');
const dialog = document.getElementById('silence-dialog');
const form = document.getElementById('silence-form');
const canSilence = pageData.can_silence === true;
const staff = ['admin', 'executive', 'analyst'].includes(document.body.dataset.role);
let silences = [];
let rules = new Set();

const pad = (n) => String(n).padStart(2, '0');
const localInput = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

// covers reports whether an active silence matches the alert.
const covers = (s, a) => s.active !== false &&
  (!s.rule || s.rule === a.rule) &&
  (!s.subject || (s.subject === a.subject && (!s.subject_type || s.subject_type === a.subject_type)));

const silenceLabel = (s) => [
  s.rule ? t('silences.rule', { rule: s.rule }) : t('silences.any_rule'),
  s.subject ? t('silences.subject', { subject: s.subject }) : t('silences.anyone'),
].join(' · ');

async function loadAlerts() {
  const q = new URLSearchParams({ lang });
  const state = filters.elements.namedItem('state').value;
  const rule = filters.elements.namedItem('rule').value;
  if (state) q.set('state', state);
  if (rule) q.set('rule', rule);
  q.set('limit', '500');
  table.setAttribute('aria-busy', 'true');
  try {
    const res = await get('/api/alerts?' + q);
    const list = res.alerts || [];
    // Critical first, then the newest.
    const sev = { critical: 0, warning: 1, info: 2 };
    list.sort((a, b) => ((sev[a.severity] ?? 3) - (sev[b.severity] ?? 3)) ||
      String(b.fired_at || b.first_seen || '').localeCompare(String(a.fired_at || a.first_seen || '')));
    list.forEach((a) => rules.add(a.rule));
    fillRules(rule);
    const tbody = table.tBodies[0];
    tbody.replaceChildren(...list.map(alertRow));
    document.getElementById('alerts-empty').hidden = list.length > 0;
    showError(document.getElementById('alerts-error'), '');
  } catch (err) {
    showError(document.getElementById('alerts-error'), errorText(err));
  }
  table.setAttribute('aria-busy', 'false');
}

function fillRules(current) {
  const sel = filters.elements.namedItem('rule');
  const opts = [el('option', { value: '' }, t('alerts.all_rules'))];
  for (const r of [...rules].sort()) opts.push(el('option', { value: r }, r));
  sel.replaceChildren(...opts);
  sel.value = current;
}

function alertRow(a) {
  const silenced = a.silenced_by !== null && a.silenced_by !== undefined || silences.some((s) => covers(s, a));
  const tr = el('tr', { 'data-alert-key': a.key, 'data-state': a.state, 'data-silenced': silenced ? 'true' : 'false' });
  const summary = (lang === 'zh-CN' ? a.summary_zh : a.summary_en) || a.summary || '';
  const action = el('td', { class: 'actions' });
  if (silenced) action.append(el('span', { class: 'badge muted' }, t('alerts.silenced')));
  // The API lets managers silence, by subject, what they see: their
  // people, their teams and their people's tickets; company alerts are
  // for staff to silence.
  const mine = staff || (Boolean(a.subject) && a.subject_type !== 'company');
  if (canSilence && mine && a.state !== 'resolved') {
    const b = el('button', { type: 'button', class: 'silence' }, t('alerts.silence'));
    b.addEventListener('click', () => openSilence(a));
    action.append(b);
  }
  tr.append(
    el('td', null, el('span', { class: 'badge sev-' + a.severity }, t('severity.' + a.severity))),
    el('td', null, a.rule),
    el('td', null, a.subject_name || a.subject || t('drill.company')),
    el('td', { class: 'summary' }, summary),
    el('td', null, el('span', { class: 'badge state-' + a.state }, t('state.' + a.state))),
    el('td', null, formatDateTime(a.fired_at || a.first_seen)),
    action,
  );
  return tr;
}

function openSilence(a) {
  form.reset();
  form.elements.namedItem('rule').value = a.rule || '';
  form.elements.namedItem('subject_type').value = a.subject_type || '';
  form.elements.namedItem('subject').value = a.subject || '';
  form.elements.namedItem('until').value = localInput(new Date(Date.now() + 24 * 3600e3));
  document.getElementById('silence-what').textContent = `${a.rule} · ${a.subject_name || a.subject || ''}`;
  showError(document.getElementById('silence-error'), '');
  if (typeof dialog.showModal === 'function') dialog.showModal(); else dialog.setAttribute('open', '');
  form.elements.namedItem('reason').focus();
}

function closeSilence() {
  if (typeof dialog.close === 'function') dialog.close(); else dialog.removeAttribute('open');
}

async function submitSilence(ev) {
  ev.preventDefault();
  const f = form.elements;
  const errBox = document.getElementById('silence-error');
  const until = f.namedItem('until').value;
  const reason = f.namedItem('reason').value.trim();
  if (!until || !reason) {
    showError(errBox, t('silence.missing'));
    return;
  }
  const ends = new Date(until);
  if (isNaN(ends) || ends <= new Date()) {
    showError(errBox, t('silence.past'));
    return;
  }
  const applies = form.querySelector('input[name=applies]:checked')?.value || 'both';
  const body = { ends_at: ends.toISOString(), comment: reason };
  if (applies !== 'subject') body.rule = f.namedItem('rule').value;
  if (applies !== 'rule') {
    body.subject_type = f.namedItem('subject_type').value;
    body.subject = f.namedItem('subject').value;
  }
  const btn = document.getElementById('silence-submit');
  btn.disabled = true;
  try {
    await request('POST', '/api/silences', body);
    closeSilence();
    toast(t('silence.done'));
    await loadSilences();
    await loadAlerts();
  } catch (err) {
    showError(errBox, errorText(err));
  }
  btn.disabled = false;
}

async function loadSilences() {
  if (!canSilence) {
    silTable.closest('.table-wrap').previousElementSibling.hidden = true;
    silTable.closest('.table-wrap').hidden = true;
    return;
  }
  try {
    const res = await get('/api/silences');
    silences = (res.silences || []).filter((s) => s.active !== false);
    silTable.tBodies[0].replaceChildren(...silences.map((s) => {
      const del = el('button', { type: 'button', class: 'unsilence danger' }, t('silences.end'));
      del.addEventListener('click', async () => {
        if (!confirm(t('silences.confirm_end'))) return;
        try {
          await request('DELETE', '/api/silences/' + encodeURIComponent(s.id));
          await loadSilences();
          await loadAlerts();
        } catch (err) { toast(errorText(err)); }
      });
      return el('tr', { 'data-silence-id': s.id },
        el('td', null, silenceLabel(s)),
        el('td', null, formatDateTime(s.ends_at)),
        el('td', null, s.comment || ''),
        el('td', null, s.created_by || ''),
        el('td', { class: 'actions' }, del));
    }));
    document.getElementById('silences-empty').hidden = silences.length > 0;
  } catch (err) {
    toast(errorText(err));
  }
}

if (!staff) form.querySelectorAll('.staff-only').forEach((n) => { n.hidden = true; });
document.getElementById('silence-quick').addEventListener('click', (ev) => {
  const h = ev.target?.dataset?.hours;
  if (h) form.elements.namedItem('until').value = localInput(new Date(Date.now() + h * 3600e3));
});
document.getElementById('silence-cancel').addEventListener('click', closeSilence);
form.addEventListener('submit', submitSilence);
filters.addEventListener('change', loadAlerts);
filters.addEventListener('submit', (ev) => ev.preventDefault());

(async () => {
  await loadSilences();
  await loadAlerts();
})();
