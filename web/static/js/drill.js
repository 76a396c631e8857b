// Drill-down: the events behind one KPI value, each linking to its raw
// event, so a number can be traced to what was recorded.
import { t, lang, get, el, errorText, formatValue, formatPeriod, fillTable, showError } from './app.js';

const q = new URLSearchParams(location.search);
const table = document.getElementById('drill-rows');

async function start() {
  const back = document.getElementById('drill-back');
  if (document.referrer && new URL(document.referrer).origin === location.origin) back.href = document.referrer;
  if (!q.get('kpi')) {
    showError(document.getElementById('drill-error'), t('drill.no_kpi'));
    return;
  }
  table.setAttribute('aria-busy', 'true');
  try {
    const api = new URLSearchParams(q);
    api.delete('label');
    api.delete('format');
    const res = await get('/api/drill?' + api);
    // The KPI's own name: a link's label could say anything.
    const named = t('kpi.' + res.kpi);
    const kpiName = named !== 'kpi.' + res.kpi ? named : q.get('label') || res.kpi;
    document.getElementById('drill-title').textContent = t('drill.heading', { kpi: kpiName });
    const subject = res.subject?.type === 'company' || !res.subject?.id
      ? t('drill.company') : `${res.subject.name || res.subject.id} (${t('subject.' + res.subject.type)})`;
    document.getElementById('drill-subject').textContent =
      `${subject} · ${formatPeriod(res.grain, res.period_start)}`;
    const fmt = q.get('format') || res.format || res.value_format;
    document.getElementById('drill-value').textContent = formatValue(res.value, fmt || (Number.isInteger(res.value) ? 'integer' : 'number'));
    const cols = res.columns || [];
    const idx = {};
    cols.forEach((c, i) => { idx[c.name] = i; });
    const label = (c) => (typeof c.label === 'object' && c.label ? (c.label[lang] || c.label.en) : c.label) || c.name;
    const hiddenNames = new Set(['event_id', 'kafka_topic', 'kafka_partition', 'kafka_offset']);
    const columns = cols.map((c, i) => ({ label: label(c), format: c.format, index: i, name: c.name }))
      .filter((c) => !hiddenNames.has(c.name));
    columns.push({
      label: t('drill.source'), index: idx.event_id,
      cell: (r) => el('a', { class: 'event-link', href: '/events/' + encodeURIComponent(r[idx.event_id]) },
        `${r[idx.kafka_topic]} / ${r[idx.kafka_partition]} / ${r[idx.kafka_offset]}`),
    });
    fillTable(table, columns, res.rows || []);
    if (!(res.rows || []).length) showError(document.getElementById('drill-error'), t('drill.empty'));
    document.getElementById('drill-truncated').hidden = !res.truncated;
  } catch (err) {
    showError(document.getElementById('drill-error'), errorText(err));
  }
  table.setAttribute('aria-busy', 'false');
}

start();
