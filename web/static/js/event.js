// One raw event: where it came from in Kafka, when, and its payload.
import { t, pageData, get, el, errorText, formatDateTime, formatValue, showError } from './app.js';

const dl = document.getElementById('event');

async function start() {
  const back = document.getElementById('event-back');
  if (document.referrer && new URL(document.referrer).origin === location.origin) back.href = document.referrer;
  try {
    const ev = await get('/api/events/' + encodeURIComponent(pageData.event_id));
    const items = [
      ['event.id', ev.event_id, 'event-id'],
      ['event.type', ev.type, 'event-type'],
      ['event.topic', ev.kafka_topic, 'event-topic'],
      ['event.partition', ev.kafka_partition, 'event-partition'],
      ['event.offset', String(ev.kafka_offset), 'event-offset'],
      ['event.occurred_at', formatDateTime(ev.occurred_at), 'event-occurred'],
      ['event.recorded_at', formatDateTime(ev.recorded_at), 'event-recorded'],
      ['event.ingested_at', formatDateTime(ev.ingested_at), 'event-ingested'],
    ];
    dl.replaceChildren(...items.flatMap(([k, v, id]) => [el('dt', null, t(k)), el('dd', { id }, v ?? '–')]));
    dl.append(el('dt', null, t('event.payload')),
      el('dd', { class: 'payload' }, el('pre', { id: 'event-payload', class: 'code' }, JSON.stringify(ev.payload, null, 2))));
  } catch (err) {
    showError(document.getElementById('event-error'), errorText(err));
  }
  dl.setAttribute('aria-busy', 'false');
}

start();
