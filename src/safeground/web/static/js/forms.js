// Data entry (a form generated from the record-type catalogue, GET /api/layers/{layer}) and approval (a queue
// of records by review state, moved on with POST /api/records/{layer}/{ref}/review and the record's version).
import { api, el, showProblem } from './api.js';
import { label, t } from './i18n.js';
import { fieldLabel, labelsOf } from './labels.js';

const INPUT = { integer: 'number', real: 'number', date: 'date', datetime: 'datetime-local', text: 'text', link: 'text', links: 'text' };
const ENTRY_LAYERS = ['hazard_area', 'accident', 'casualty', 'device', 'eore_session', 'priority_target', 'minefield_record', 'qm_inspection'];

function fieldInput(field, labels) {
  const name = field.name;
  if (field.vocabulary) {
    const multiple = field.type === 'choices';
    const options = field.vocabulary.map((code) => new Option(label(labels.terms?.[name]?.[code], code), code));
    if (!multiple) options.unshift(new Option('', ''));
    return el('select', { name, required: field.required, multiple }, options);
  }
  if (field.type === 'boolean') return el('select', { name }, new Option('', ''), new Option(t('form.yes'), 'true'), new Option(t('form.no'), 'false'));
  return el('input', { name, type: INPUT[field.type] || 'text', required: field.required, step: field.type === 'real' ? 'any' : null });
}

function valueOf(field, control) {
  if (control.multiple) return [...control.selectedOptions].map((o) => o.value).join(' ') || null;
  const v = control.value.trim();
  if (v === '') return null;
  if (field.type === 'integer') return Number.parseInt(v, 10);
  if (field.type === 'real') return Number(v);
  if (field.type === 'boolean') return v === 'true';
  return v;
}

const DRAFT = { type: 'FeatureCollection', features: [] };

function draftSource(map) {
  if (!map.getSource('draft')) {
    map.addSource('draft', { type: 'geojson', data: DRAFT });
    map.addLayer({ id: 'draft-fill', type: 'fill', source: 'draft', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#1f5fa8', 'fill-opacity': 0.25 } });
    map.addLayer({ id: 'draft-line', type: 'line', source: 'draft', paint: { 'line-color': '#1f5fa8', 'line-width': 2 } });
    map.addLayer({ id: 'draft-points', type: 'circle', source: 'draft', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': '#1f5fa8', 'circle-radius': 4 } });
  }
  return map.getSource('draft');
}

/** Draw the record's location on the map: one click for a point; for a line or polygon, click its vertices
 *  and press the button again to finish. The GeoJSON lands in `target`. */
function draw(map, geometryType, target, button) {
  const source = draftSource(map);
  const kind = /POLYGON/i.test(geometryType) ? 'Polygon' : /LINE/i.test(geometryType) ? 'LineString' : 'Point';
  const points = [];
  const shape = () => {
    if (kind === 'Point') return { type: 'Point', coordinates: points[0] };
    if (kind === 'LineString') return { type: 'LineString', coordinates: points };
    return { type: 'Polygon', coordinates: [[...points, points[0]]] };
  };
  const show = () => source.setData({ type: 'FeatureCollection', features: [
    ...points.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} })),
    ...(points.length >= (kind === 'Polygon' ? 3 : 2) ? [{ type: 'Feature', geometry: shape(), properties: {} }] : [])] });
  const finish = () => {
    map.off('click', add);
    window.safeground.drawing = false;
    button.textContent = t('form.draw');
    button.onclick = () => draw(map, geometryType, target, button);
    const enough = points.length >= (kind === 'Polygon' ? 3 : kind === 'LineString' ? 2 : 1);
    if (enough) target.value = JSON.stringify(shape());
  };
  function add(e) {
    points.push([+e.lngLat.lng.toFixed(7), +e.lngLat.lat.toFixed(7)]);
    show();
    if (kind === 'Point') finish();
  }
  window.safeground.drawing = true;
  map.on('click', add);
  button.textContent = kind === 'Point' ? t('form.click_map') : t('form.finish');
  button.onclick = finish;
  show();
}

async function entryForm(host, layer, map, changed) {
  const [doc, labels] = await Promise.all([api(`/api/layers/${layer}`), labelsOf(layer)]);
  const fields = doc.fields.filter((f) => !f.managed);
  const message = el('div', { hidden: true, role: 'status' });
  const geometry = el('textarea', { name: 'geometry', rows: 3, required: doc.geometry_required,
    placeholder: t('form.geometry_placeholder') });
  const pick = el('button', { type: 'button' }, t('form.draw'));
  pick.onclick = () => draw(map, doc.geometry_type || '', geometry, pick);
  const rows = fields.map((f) => el('label', { class: f.required ? 'required' : null },
    el('span', {}, fieldLabel(labels, f.name), f.unit ? ` (${f.unit})` : ''), fieldInput(f, labels)));
  const form = el('form', { class: 'entry' }, rows,
    doc.geometry_type ? el('label', {}, el('span', {}, `${t('form.geometry')} (${doc.geometry_type})`), geometry, pick) : null,
    el('button', { type: 'submit' }, t('form.submit')), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const record = {};
    for (const f of fields) {
      const v = valueOf(f, form.elements[f.name]);
      if (v !== null) record[f.name] = v;
    }
    try {
      if (geometry.value.trim()) record.geometry = JSON.parse(geometry.value);
    } catch {
      showProblem(message, new Error(t('form.bad_geometry')));
      return;
    }
    try {
      const saved = await api(`/api/records/${layer}`, { method: 'POST', body: record });
      message.hidden = false;
      message.className = 'ok';
      message.textContent = t('form.saved', { ref: saved.ref });
      form.reset();
      draftSource(map).setData(DRAFT);
      changed();
    } catch (err) {
      showProblem(message, err);
    }
  });
  host.replaceChildren(form);
}

/** The data-entry panel: pick a record type, fill its generated form, submit. */
export function setupEntry(host, user, map, changed) {
  if (!user.can?.create) { host.replaceChildren(el('p', { class: 'muted' }, t('form.no_right'))); return; }
  const chooser = el('select', { 'aria-label': t('form.layer') }, ENTRY_LAYERS.map((l) => new Option(l, l)));
  const body = el('div');
  const render = () => entryForm(body, chooser.value, map, changed).catch((err) => showProblem(body, err));
  const titles = async () => {
    for (const option of chooser.options) {
      const labels = await labelsOf(option.value);
      option.textContent = label({ en: labels.title }, option.value);
    }
  };
  chooser.addEventListener('change', render);
  host.replaceChildren(el('label', {}, el('span', {}, t('form.layer')), chooser), body);
  titles();
  render();
  document.addEventListener('languagechange', render);
}

async function queue(host, layer, state, changed) {
  const list = el('div');
  host.replaceChildren(list);
  try {
    const page = await api(`/api/records/${layer}?review_state=${state}&limit=50`);
    const records = page.records || [];
    if (!records.length) { list.replaceChildren(el('p', { class: 'muted' }, t('review.empty'))); return; }
    const actions = state === 'submitted' ? [['approved', 'review.approve']]
      : state === 'approved' ? [['published', 'review.publish'], ['submitted', 'review.return']] : [['approved', 'review.withdraw']];
    list.replaceChildren(el('ul', { class: 'queue' }, records.map((r) => {
      const message = el('div', { hidden: true });
      const buttons = actions.map(([target, key]) => el('button', { type: 'button', onclick: async () => {
        try {
          await api(`/api/records/${layer}/${encodeURIComponent(r.ref)}/review`, { method: 'POST', body: { state: target, version: r.version } });
          changed();
          queue(host, layer, state, changed);
        } catch (err) { showProblem(message, err); }
      } }, t(key)));
      return el('li', {}, el('strong', {}, r.ref), ' ', r.name || '', el('div', { class: 'actions' }, buttons), message);
    })));
  } catch (err) {
    showProblem(list, err);
  }
}

/** The approval panel (QA role): records by review state, approved/published/returned with their version. */
export function setupReview(host, user, changed) {
  if (!user.can?.review) { host.replaceChildren(el('p', { class: 'muted' }, t('review.no_right'))); return; }
  const layer = el('select', { 'aria-label': t('form.layer') }, ENTRY_LAYERS.map((l) => new Option(l, l)));
  const state = el('select', { 'aria-label': t('review.state') }, ['submitted', 'approved', 'published'].map((s) => new Option(t(`state.${s}`), s)));
  const body = el('div');
  const render = () => queue(body, layer.value, state.value, changed);
  layer.addEventListener('change', render);
  state.addEventListener('change', render);
  host.replaceChildren(el('div', { class: 'row' }, layer, state), body);
  render();
  host.closest('details')?.addEventListener('toggle', (e) => { if (e.target.open) render(); });  // fresh on opening
}
