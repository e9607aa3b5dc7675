// The web map page: sign-in, the MapLibre map over the signed-in vector tiles, layer toggles with their
// legend, feature detail on click, and the data-entry and approval forms.
import { Map as MapLibre, NavigationControl, ScaleControl } from '/static/vendor/maplibre-gl.mjs';
import { api, el, setToken, showProblem, token } from './api.js';
import { showDetail } from './detail.js';
import { setupEntry, setupReview } from './forms.js';
import { initLanguage, label, t } from './i18n.js';
import { labelsOf } from './labels.js';
import { MAP_LAYERS } from './layers.js';

const $ = (id) => document.getElementById(id);
const absolute = (path) => new URL(path, window.location.href).href;
// Exposed for scripted checks (the browser test) and the console: the map and the state of the page.
window.safeground = { ready: false };

function basemap(settings) {
  const sources = { outlines: { type: 'geojson', data: absolute('/api/map/outlines'),
    attribution: 'Natural Earth' } };
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#d7e7f2' } }];
  if (settings.basemap_url) {
    sources.online = { type: 'raster', tiles: [settings.basemap_url], tileSize: 256 };
    layers.push({ id: 'online', type: 'raster', source: 'online' });
  } else {
    layers.push({ id: 'land', type: 'fill', source: 'outlines', paint: { 'fill-color': '#f4f1ea' } });
  }
  layers.push({ id: 'borders', type: 'line', source: 'outlines', paint: { 'line-color': '#8a8a8a', 'line-width': 1 } });
  return { sources, layers };
}

function style(settings) {
  const { sources, layers } = basemap(settings);
  const zooms = settings.layers.map((l) => l.minzoom);
  sources.records = { type: 'vector', tiles: [window.location.origin + settings.tiles], minzoom: Math.min(...zooms), maxzoom: 14 };
  for (const decl of MAP_LAYERS) {
    const tileLayer = settings.layers.find((l) => l.name === decl.id);
    decl.styles.forEach((s, i) => layers.push({ ...s, id: `${decl.id}-${i}`, source: 'records', 'source-layer': decl.id,
      ...(tileLayer ? { minzoom: tileLayer.minzoom } : {}) }));
  }
  return { version: 8, sources, layers };
}

const styleIds = (decl) => decl.styles.map((_, i) => `${decl.id}-${i}`);
const REFRESH_MS = 60_000;

/** Ask the server for fresh tiles (a new query string passes the browser's cache): after an edit made here,
 *  and every minute while the page is shown, so colleagues' edits appear within a minute. */
function refreshTiles(map, settings) {
  map.getSource('records').setTiles([`${window.location.origin}${settings.tiles}?v=${Date.now()}`]);
}

async function legendOf(decl) {
  const { legend } = decl;
  const swatch = (css, text) => el('li', {}, el('span', { class: 'swatch', style: css }), text);
  const labels = decl.record ? await labelsOf(decl.record) : { fields: {}, terms: {} };
  const term = (field, code) => label(labels.terms?.[field]?.[code], code);
  const items = Object.entries(legend.colors || {}).map(([code, color]) => swatch(`background:${color}`, term(legend.field, code)));
  for (const [key, color] of legend.items || []) items.push(swatch(`background:${color}`, t(key)));
  const more = (legend.more || []).map(({ field, css }) => el('div', { class: 'legend-more' },
    el('span', { class: 'muted small' }, label(labels.fields?.[field], field)),
    el('ul', { class: 'legend' }, Object.entries(css).map(([code, style]) => swatch(style, term(field, code))))));
  const note = legend.note ? el('p', { class: 'legend-note muted small' }, t(legend.note)) : null;
  let about = null;
  if (legend.about) {
    try { about = el('p', { class: 'legend-about', dataset: { layer: decl.id } }, legend.about.text(await api(legend.about.url))); }
    catch (err) { about = el('div'); showProblem(about, err); }
  }
  return el('div', {}, about, el('ul', { class: 'legend' }, items), more, note);
}

async function layerPanel(map) {
  const panel = $('layers');
  const hidden = new Set(JSON.parse(localStorage.getItem('safeground.hidden') || '[]'));
  const rows = [];
  for (const decl of [...MAP_LAYERS].reverse()) {  // top layer first, as drawn
    const box = el('input', { type: 'checkbox', checked: !hidden.has(decl.id), dataset: { layer: decl.id } });
    const apply = () => {
      for (const id of styleIds(decl)) map.setLayoutProperty(id, 'visibility', box.checked ? 'visible' : 'none');
      if (box.checked) hidden.delete(decl.id); else hidden.add(decl.id);
      localStorage.setItem('safeground.hidden', JSON.stringify([...hidden]));
    };
    box.addEventListener('change', apply);
    apply();
    rows.push(el('div', { class: 'layer' }, el('label', {}, box, ' ', t(decl.title)), await legendOf(decl)));
  }
  panel.replaceChildren(...rows);
}

function startMap(settings) {
  const map = new MapLibre({
    container: 'map', style: style(settings), attributionControl: { compact: true },
    bounds: settings.bounds || [-180, -60, 180, 75], fitBoundsOptions: { padding: 20 },
    transformRequest: (url) => (url.startsWith(absolute('/api/')) && token()
      ? { url, headers: { Authorization: `Bearer ${token()}` } } : { url }),
  });
  map.addControl(new NavigationControl(), 'top-left');
  map.addControl(new ScaleControl());
  const clickable = MAP_LAYERS.flatMap(styleIds);
  map.on('click', (e) => {
    if (window.safeground.drawing) return;  // the entry form is taking the clicks
    const feature = map.queryRenderedFeatures(e.point, { layers: clickable.filter((id) => map.getLayer(id)) })[0];
    if (!feature) return;
    const decl = MAP_LAYERS.find((d) => d.id === feature.sourceLayer);
    window.safeground.shown = [decl, feature];
    showDetail($('detail'), decl, feature);
  });
  map.on('mousemove', (e) => {
    const hit = map.queryRenderedFeatures(e.point, { layers: clickable }).length > 0;
    map.getCanvas().style.cursor = hit ? 'pointer' : '';
  });
  window.safeground.map = map;
  return map;
}

async function start(user) {
  $('sign-in').hidden = true;
  $('workspace').hidden = false;
  $('who').textContent = `${user.display_name || user.username} · ${t(`role.${user.role}`)}`;
  $('sign-out').hidden = false;
  const settings = await api('/api/map');
  const map = startMap(settings);
  await new Promise((resolve) => map.once('load', resolve));
  const refresh = () => layerPanel(map);
  await refresh();
  document.addEventListener('languagechange', () => {
    refresh();
    if (window.safeground.shown && !$('detail').hidden) showDetail($('detail'), ...window.safeground.shown);
    $('who').textContent = `${user.display_name || user.username} · ${t(`role.${user.role}`)}`;
  });
  const refreshed = () => { refreshTiles(map, settings); refresh(); };  // the legend names the current risk run
  window.safeground.refresh = refreshed;
  setInterval(() => { if (document.visibilityState === 'visible') refreshed(); }, REFRESH_MS);
  setupEntry($('entry'), user, map, refreshed);
  setupReview($('review'), user, refreshed);
  // ready: the page is set up and the map has drawn what it shows (scripted checks wait for it)
  const ready = () => { window.safeground.ready = true; };
  if (map.loaded()) ready(); else map.once('idle', ready);
}

function askSignIn() {
  $('sign-in').hidden = false;
  $('workspace').hidden = true;
  $('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const answer = await api('/api/auth/token', { method: 'POST', body: { username: form.get('username'), password: form.get('password') } });
      setToken(answer.token);
      await start(await api('/api/auth/me'));  // with what the role may do
    } catch (err) {
      showProblem($('sign-in-problem'), err);
    }
  });
}

async function main() {
  await initLanguage();
  $('sign-out').addEventListener('click', async () => {
    try { await api('/api/auth/token', { method: 'DELETE' }); } catch { /* signed out already */ }
    setToken(null);
    window.location.reload();
  });
  if (token()) {
    try {
      return await start(await api('/api/auth/me'));
    } catch { setToken(null); }
  }
  askSignIn();
}

main();
