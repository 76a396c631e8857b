// Ingest status: per partition, how far the warehouse is behind the
// brokers, and the events refused with the reason in words. Refreshes
// itself while the page is open.
import { t, get, el, errorText, formatValue, formatDateTime, showError } from './app.js';

const partitions = document.getElementById('partitions');
const refused = document.getElementById('refused');
const topicSel = document.getElementById('refused-filters').elements.namedItem('topic');
const errBox = document.getElementById('ingest-error');
const num = (v) => el('td', { class: 'num' }, formatValue(v, 'integer'));

async function loadStatus() {
  try {
    const st = await get('/api/ingest/status');
    const list = st.partitions || [];
    partitions.tBodies[0].replaceChildren(...list.map((p) => el('tr', {
      'data-topic': p.topic, 'data-partition': p.partition, class: p.problem ? 'problem' : (p.lag > 0 ? 'lagging' : null),
    },
    el('td', null, p.topic), num(p.partition),
    el('td', { class: 'num strong' }, p.lag === null || p.lag === undefined ? t('ingest.unknown') : formatValue(p.lag, 'integer')),
    num(p.stored_offset), el('td', { class: 'num' }, p.high_water_mark === null ? '–' : formatValue(p.high_water_mark, 'integer')),
    num(p.events_stored), num(p.events_refused), num(p.duplicates_skipped),
    el('td', null, p.updated_at && !p.updated_at.startsWith('0001') ? formatDateTime(p.updated_at) : '–'),
    el('td', { class: 'problem-text' }, p.problem || ''))));
    const topics = [...new Set(list.map((p) => p.topic))].sort();
    const cur = topicSel.value;
    topicSel.replaceChildren(el('option', { value: '' }, t('ingest.all_topics')), ...topics.map((x) => el('option', { value: x }, x)));
    topicSel.value = cur;
    const msgs = [];
    if (st.broker_error) msgs.push(t('ingest.broker_error', { err: st.broker_error }));
    if (st.consumers_joined === false) msgs.push(t('ingest.not_joined'));
    showError(errBox, msgs.join(' '));
    document.getElementById('ingest-updated').textContent = t('ingest.updated', { at: formatDateTime(new Date()) });
  } catch (err) {
    showError(errBox, errorText(err));
  }
}

async function loadRefused() {
  const q = new URLSearchParams({ limit: '200' });
  if (topicSel.value) q.set('topic', topicSel.value);
  try {
    const res = await get('/api/ingest/refused?' + q);
    const list = res.refused || [];
    refused.tBodies[0].replaceChildren(...list.map((r) => el('tr', { 'data-reason': r.reason_code },
      el('td', null, formatDateTime(r.refused_at)),
      el('td', null, `${r.kafka_topic} / ${r.kafka_partition} / ${formatValue(r.kafka_offset, 'integer')}`),
      el('td', null, el('strong', null, t('reason.' + r.reason_code) !== 'reason.' + r.reason_code ? t('reason.' + r.reason_code) : r.reason_code), el('br'), r.reason || ''),
      el('td', null, el('code', { class: 'excerpt' }, r.raw_excerpt || '')))));
    document.getElementById('refused-empty').hidden = list.length > 0;
  } catch (err) {
    showError(errBox, errorText(err));
  }
}

topicSel.addEventListener('change', loadRefused);
loadStatus();
loadRefused();
setInterval(() => { if (!document.hidden) { loadStatus(); loadRefused(); } }, 15000);
