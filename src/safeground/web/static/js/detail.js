// Feature detail: what the tile says at once, then the record, its history and its attachments from the API.
import { api, authHeaders, el, Problem, showProblem } from './api.js';
import { t } from './i18n.js';
import { fieldLabel, labelsOf, valueText } from './labels.js';

const HIDDEN = new Set(['geometry', 'uuid']);

function table(labels, values) {
  return el('table', { class: 'fields' }, Object.entries(values).filter(([k]) => !HIDDEN.has(k)).map(([k, v]) =>
    el('tr', {}, el('th', { scope: 'row' }, fieldLabel(labels, k)), el('td', {}, valueText(labels, k, v)))));
}

/** A linked record (an organisation, a hazard...) by its ref and name instead of its uuid; as it was when unreadable. */
async function linkedNames(labels, record) {
  const named = { ...record };
  const links = Object.entries(labels.links || {}).filter(([k]) => typeof record[k] === 'string' && record[k]);
  await Promise.all(links.map(async ([k, layer]) => {
    try {
      const other = await api(`/api/records/${layer}/${encodeURIComponent(record[k])}`);
      named[k] = [other.ref, other.name].filter(Boolean).join(' · ') || record[k];
    } catch { /* not readable by this user: keep the uuid */ }
  }));
  return named;
}

/** The record's own fields (in declaration order), then its metadata folded away; replaces the tile's summary. */
function recordTables(labels, record, summary) {
  summary.remove();
  const own = labels.own || [];
  const pick = (names) => Object.fromEntries(names.filter((k) => k in record).map((k) => [k, record[k]]));
  const rest = Object.keys(record).filter((k) => !own.includes(k));
  return el('div', {}, table(labels, pick(own)),
    el('details', {}, el('summary', {}, t('detail.metadata')), table(labels, pick(rest))));
}

const rowsOf = (doc, key) => (Array.isArray(doc) ? doc : doc?.[key] ?? doc?.records ?? doc?.rows ?? []);

function problemBox(err) {
  const box = el('div');
  showProblem(box, err);
  return box;
}

function historyList(labels, rows) {
  if (!rows.length) return el('p', { class: 'muted' }, t('detail.no_history'));
  return el('ol', { class: 'history' }, rows.map((row) => {
    const changed = (row.changed || []).filter((k) => !HIDDEN.has(k) && !['version', 'changed_at', 'changed_by'].includes(k));
    const when = row.at ? `${row.at.replace('T', ' ').slice(0, 16)} UTC` : '';  // to the minute, as people read it
    return el('li', {}, el('strong', {}, t(`op.${row.op}`)), ' ', when, ' · ', row.actor || row.user || '',
      changed.length && row.op !== 'insert' ? el('div', { class: 'muted' }, changed.map((k) => fieldLabel(labels, k)).join(', ')) : null);
  }));
}

async function download(url, name) {
  const answer = await fetch(url, { headers: authHeaders() });
  if (!answer.ok) throw new Problem(await answer.json());
  const link = el('a', { href: URL.createObjectURL(await answer.blob()), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

function attachmentList(base, rows, status) {
  if (!rows.length) return el('p', { class: 'muted' }, t('detail.no_attachments'));
  return el('ul', { class: 'attachments' }, rows.map((a) => {
    const name = a.name || a.filename;
    return el('li', {}, el('button', { type: 'button', class: 'link', onclick: () => download(`${base}/attachments/${encodeURIComponent(name)}`, name)
      .catch((err) => showProblem(status, err)) }, name), a.size ? ` (${Math.ceil(a.size / 1024)} kB)` : '');
  }));
}

/** Fill `panel` with the detail of a clicked feature of the declared layer `decl`. */
export async function showDetail(panel, decl, feature) {
  const props = feature.properties;
  const labels = decl.record ? await labelsOf(decl.record) : { fields: {}, terms: {} };
  const status = el('div', { hidden: true });
  const title = el('h2', { id: 'detail-title' }, [props.ref, props.name].filter(Boolean).join(' · ') || t(decl.title));
  const close = el('button', { type: 'button', class: 'close', 'aria-label': t('detail.close'), onclick: () => { panel.hidden = true; } }, '×');
  const summary = table(labels, props);
  panel.replaceChildren(el('header', {}, title, close), el('p', { class: 'muted' }, t(decl.title)), summary, status);
  panel.hidden = false;
  if (decl.detail) {  // a layer that is not records (the risk surface): its own document and how to show it
    try {
      summary.replaceWith(el('div', { class: `detail-${decl.id}` }, decl.detail.show(await api(decl.detail.url(props)))));
    } catch (err) { summary.replaceWith(problemBox(err)); }
    return;
  }
  if (!decl.record || !props.ref) return;
  const base = `/api/records/${decl.record}/${encodeURIComponent(props.ref)}`;
  const sections = [['record', base], ['history', `${base}/history`], ['attachments', `${base}/attachments`]];
  const answers = await Promise.allSettled(sections.map(([, url]) => api(url)));
  const named = answers[0].status === 'fulfilled' ? await linkedNames(labels, answers[0].value) : null;
  sections.forEach(([name], i) => {
    const { status: state, value, reason } = answers[i];
    let body;
    if (state === 'rejected') body = problemBox(reason);
    else if (name === 'record') body = recordTables(labels, named, summary);
    else if (name === 'history') body = historyList(labels, rowsOf(value, 'history'));
    else body = attachmentList(base, rowsOf(value, 'attachments'), status);
    panel.append(el('section', { class: `detail-${name}` }, el('h3', {}, t(`detail.${name}`)), body));
  });
}
