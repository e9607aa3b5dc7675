// The public page (no sign-in): "is this place safe?" by clicking the map or searching a point, the
// generalised public hazard areas, settlement status and casualty figures (aggregates only).
import { Map as MapLibre, Marker, NavigationControl, ScaleControl } from '/static/vendor/maplibre-gl.mjs';
import { api, el, showProblem } from './api.js';
import { initLanguage, lang, t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const absolute = (path) => new URL(path, window.location.href).href;
const SETTLEMENT_COLORS = { released: '#1e7b34', partly_released: '#e08600', blocked: '#b3261e' };
window.safeground = { ready: false };
let lastAnswer = null;
let settlements = [];
let marker = null;

function answerBox(answer, lat, lon) {
  if (!answer) return el('p', { class: 'muted' }, t('safety.how'));
  const klass = answer.result === 'inside' ? 'inside' : answer.result === 'within' ? 'near' : 'clear';
  let nearest = t('safety.no_hazard_known');
  if (answer.result === 'inside') nearest = t('safety.inside_ref', { ref: answer.nearest_hazard });
  else if (answer.nearest_hazard_m !== null && answer.nearest_hazard_m !== undefined) {
    nearest = t('safety.nearest', { m: Math.round(answer.nearest_hazard_m).toLocaleString(), ref: answer.nearest_hazard });
  }
  return el('div', { class: `answer ${klass}`, id: 'safety-answer', dataset: { result: answer.result } },
    el('strong', {}, t(`safety.${answer.result}`, { m: answer.distance_m })),
    el('div', { class: 'muted small' }, `${lat.toFixed(5)}, ${lon.toFixed(5)}`),
    el('p', {}, nearest),
    el('p', { class: 'caveat' }, t('safety.caveat')),
    lang === 'en' ? null : el('p', { class: 'muted small', lang: 'en' }, answer.caveat));
}

async function check(lat, lon, map) {
  const box = $('answer');
  try {
    const answer = await api(`/api/public/safety?lat=${lat}&lon=${lon}&distance=${$('distance').value}`);
    lastAnswer = [answer, lat, lon];
    box.replaceChildren(answerBox(answer, lat, lon));
    marker = marker || new Marker({ color: '#20303c' });
    marker.setLngLat([lon, lat]).addTo(map);
  } catch (err) {
    showProblem(box, err);
  }
}

function search(map) {
  const text = $('place').value.trim();
  const coords = text.match(/^\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*$/);
  if (coords) {
    const [lat, lon] = [Number(coords[1]), Number(coords[2])];
    map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 13) });
    check(lat, lon, map);
    return;
  }
  showProblem($('answer'), new Error(t('safety.not_found')));
}

function settlementList() {
  const counts = {};
  for (const s of settlements) counts[s.status] = (counts[s.status] || 0) + 1;
  return el('div', {},
    el('ul', { class: 'legend' }, Object.entries(SETTLEMENT_COLORS).map(([k, c]) =>
      el('li', {}, el('span', { class: 'swatch', style: `background:${c}` }), `${t(`settlement.${k}`)}: ${counts[k] || 0}`))),
    el('details', {}, el('summary', {}, t('settlement.list')),
      el('table', { class: 'fields' }, settlements.map((s) => el('tr', {}, el('th', {}, s.name || s.ref), el('td', {}, t(`settlement.${s.status}`)))))));
}

function casualtyTable(doc) {
  const areas = doc.areas || [];
  return el('div', {},
    el('p', {}, t('casualties.total', { n: doc.total ?? '–' })),
    el('table', { class: 'fields' }, areas.map((a) => el('tr', {}, el('th', {}, a.area), el('td', {}, String(a.people))))),
    el('p', { class: 'muted small' }, t('casualties.rule')));
}

async function panels() {
  const [places, casualties] = await Promise.allSettled([api('/api/public/settlements'), api('/api/public/casualties?period=year')]);
  if (places.status === 'fulfilled') settlements = places.value.settlements || [];
  const render = () => {
    $('settlements').replaceChildren(places.status === 'fulfilled' ? settlementList() : el('div'));
    if (places.status === 'rejected') showProblem($('settlements'), places.reason);
    $('casualties').replaceChildren(casualties.status === 'fulfilled' ? casualtyTable(casualties.value) : el('div'));
    if (casualties.status === 'rejected') showProblem($('casualties'), casualties.reason);
    $('answer').replaceChildren(lastAnswer ? answerBox(...lastAnswer) : answerBox(null));
  };
  render();
  document.addEventListener('languagechange', render);
}

async function main() {
  await initLanguage();
  const settings = await api('/api/map');
  await panels();
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#d7e7f2' } }];
  const sources = { outlines: { type: 'geojson', data: absolute('/api/map/outlines'), attribution: 'Natural Earth' },
    // the public hazard areas (remaining area buffered 25 m, simplified outward), as public vector tiles
    hazards: { type: 'vector', tiles: [`${window.location.origin}/api/public/tiles/{z}/{x}/{y}.mvt`], minzoom: 6, maxzoom: 14 } };
  if (settings.basemap_url) {
    sources.online = { type: 'raster', tiles: [settings.basemap_url], tileSize: 256 };
    layers.push({ id: 'online', type: 'raster', source: 'online' });
  } else layers.push({ id: 'land', type: 'fill', source: 'outlines', paint: { 'fill-color': '#f4f1ea' } });
  layers.push({ id: 'borders', type: 'line', source: 'outlines', paint: { 'line-color': '#8a8a8a' } },
    { id: 'hazards-fill', type: 'fill', source: 'hazards', 'source-layer': 'public_hazards', paint: { 'fill-color': '#c0392b', 'fill-opacity': 0.45 } },
    { id: 'hazards-line', type: 'line', source: 'hazards', 'source-layer': 'public_hazards', paint: { 'line-color': '#7a1d14',
      'line-width': ['interpolate', ['linear'], ['zoom'], 8, 3, 13, 1] } });  // small hazards stay visible
  const map = new MapLibre({ container: 'map', style: { version: 8, sources, layers }, attributionControl: { compact: true },
    bounds: settings.bounds || [-180, -60, 180, 75], fitBoundsOptions: { padding: 20 } });
  map.addControl(new NavigationControl(), 'top-left');
  map.addControl(new ScaleControl());
  map.on('click', (e) => check(e.lngLat.lat, e.lngLat.lng, map));
  $('search').addEventListener('submit', (e) => { e.preventDefault(); search(map); });
  window.safeground.map = map;
  map.once('idle', () => { window.safeground.ready = true; });
}

main();
