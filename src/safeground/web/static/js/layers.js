// The map's layers, one declaration each: adding a layer (a risk surface, a clearance plan) is one more entry.
//   id:       the vector tile layer (services/tiles.py LAYERS) and the toggle's name;
//   record:   the record layer a click opens (GET /api/records/{record}/{ref}); null for aggregates;
//   detail:   instead of a record, {url(properties), show(document)}: the URL a click reads and the elements
//             that show its answer;
//   title:    the interface string naming it; styles: MapLibre layers drawn from it (source and
//             source-layer are filled in); legend: {field, colors} (swatches labelled by the record model's
//             vocabulary), {items: [[stringKey, color]]} and {more: [{field, css: {code: swatch CSS}}]}
//             (further fields, each under its label); about: {url, text(document)}, a line read from the API
//             (which risk run is drawn); note: a string key shown under the legend.
const HAZARD_CLASS = { indication: '#e3b505', sha: '#f28e2b', cha: '#c0392b', eod_spot_task: '#8e44ad', stockpile: '#6d4c41' };
const RELEASE_KIND = { cancelled: '#a8dba8', reduced: '#5cb85c', cleared: '#1e7b34' };
const CASUALTY_STEPS = [['1', '#fee5d9'], ['5', '#fcae91'], ['20', '#fb6a4a'], ['50', '#cb181d']];

import { el } from './api.js';
import { t } from './i18n.js';

// Predicted risk (0..1) in bands; services/risk_map.py BANDS gives the same bounds to the report.
const RISK_STEPS = [[0, '#ffffb2'], [0.05, '#fecc5c'], [0.1, '#fd8d3c'], [0.2, '#f03b20'], [0.4, '#bd0026']];
const percent = (v) => `${Math.round(v * 1000) / 10} %`;
const riskBand = (i) => (i + 1 < RISK_STEPS.length ? `${percent(RISK_STEPS[i][0])} – ${percent(RISK_STEPS[i + 1][0])}`
  : `≥ ${percent(RISK_STEPS[i][0])}`);

// The current clearance plan: hazards by the week they are released (weeks counted from 0 at the plan's start).
const PLAN_WEEKS = [[0, '#1a9850', 'plan.weeks_1_4'], [4, '#91cf60', 'plan.weeks_5_13'], [13, '#d9ef8b', 'plan.weeks_14_26'],
  [26, '#fee08b', 'plan.weeks_27_52'], [52, '#fc8d59', 'plan.weeks_later']];
const PLAN_NOT_RELEASED = '#8c8c8c';
const PLAN_COLOUR = ['case', ['has', 'released_week'],
  ['step', ['get', 'released_week'], ...PLAN_WEEKS.flatMap(([w, c], i) => (i ? [w, c] : [c]))], PLAN_NOT_RELEASED];

const match = (field, colors, other = '#999') => ['match', ['get', field], ...Object.entries(colors).flat(), other];
const geometry = (type) => ['==', ['geometry-type'], type];
const MARKING = { unmarked: 0.8, temporary: 1.6, permanent: 2.4, fenced: 3.2 };
const MARKING_WIDTH = match('marking', MARKING, 1);
const STATUS_OPACITY = { open: 0.6, worked_on: 0.45, closed: 0.15, handed_over: 0.1 };

export const MAP_LAYERS = [
  {
    // The current risk run's cells (signed-in map only: predicted risk is not a hazard record).
    id: 'risk_surface', record: null, title: 'layer.risk_surface',
    styles: [
      { type: 'fill', paint: { 'fill-color': ['step', ['get', 'risk'], ...RISK_STEPS.flatMap(([v, c], i) => (i ? [v, c] : [c]))],
        'fill-opacity': 0.5 } },
    ],
    legend: { items: RISK_STEPS.map(([, c], i) => [riskBand(i), c]), note: 'risk.caveat',
      about: { url: '/api/risk/current', text: (doc) => (doc.current ? t('risk.run', { run: doc.run, date: doc.date }) : t('risk.none')) } },
    detail: {
      url: (p) => `/api/risk/runs/${p.run}/cells/${p.cell}`,
      show: (doc) => [
        el('p', { class: 'risk-run' }, t('risk.run', { run: doc.run, date: doc.date })),
        el('p', { class: 'risk-value' }, el('strong', {}, t('risk.value', { risk: percent(doc.risk) }))),
        el('h3', {}, t('risk.reasons')),
        doc.reasons.length ? el('ol', { class: 'risk-reasons' }, doc.reasons.map((r) => el('li', {}, r)))
          : el('p', { class: 'muted' }, t('risk.no_reasons')),
        el('p', { class: 'muted small' }, t('risk.caveat')),
      ],
    },
  },
  {
    id: 'casualties', record: null, title: 'layer.casualties',
    styles: [
      { type: 'fill', paint: { 'fill-color': ['step', ['get', 'casualties'], ...CASUALTY_STEPS.flatMap(([n, c], i) => (i ? [Number(n), c] : [c]))], 'fill-opacity': 0.3 } },
      { type: 'line', paint: { 'line-color': '#a50f15', 'line-width': 0.8 } },
    ],
    legend: { title: 'legend.casualties', items: CASUALTY_STEPS.map(([n, c]) => [`≥ ${n}`, c]) },
  },
  {
    id: 'released_land', record: 'released_area', title: 'layer.released_land',
    styles: [
      { type: 'fill', paint: { 'fill-color': match('kind', RELEASE_KIND), 'fill-opacity': 0.6 } },
      { type: 'line', paint: { 'line-color': '#1e7b34', 'line-width': 0.8 } },
    ],
    legend: { field: 'kind', colors: RELEASE_KIND },
  },
  {
    id: 'minefield_records', record: 'minefield_record', title: 'layer.minefield_records',
    styles: [
      { type: 'fill', paint: { 'fill-color': '#6a3d9a', 'fill-opacity': 0.12 } },
      { type: 'line', paint: { 'line-color': '#6a3d9a', 'line-width': 2, 'line-dasharray': [2, 1.5] } },
    ],
    legend: { items: [['layer.minefield_records', '#6a3d9a']] },
  },
  {
    id: 'hazards', record: 'hazard_area', title: 'layer.hazards',
    styles: [
      // colour: class; strength: status (closed and handed over fade); outline width: marking.
      { type: 'fill', paint: { 'fill-color': match('hazard_class', HAZARD_CLASS),
        'fill-opacity': match('status', STATUS_OPACITY, 0.5) } },
      // outlines are wider when zoomed out, so that small hazards stay visible and clickable
      { type: 'line', paint: { 'line-color': match('hazard_class', HAZARD_CLASS), 'line-width': ['interpolate', ['linear'], ['zoom'],
        8, ['+', 2, MARKING_WIDTH], 13, MARKING_WIDTH] } },
    ],
    legend: { field: 'hazard_class', colors: HAZARD_CLASS, more: [
      { field: 'status', css: Object.fromEntries(Object.entries(STATUS_OPACITY).map(([k, o]) => [k, `background: rgba(192, 57, 43, ${o})`])) },
      { field: 'marking', css: Object.fromEntries(Object.entries(MARKING).map(([k, w]) => [k, `border: ${Math.max(1, w * 1.5)}px solid #c0392b`])) },
    ] },
  },
  {
    // The current plan's hazards (the hazard record opens on click), coloured by the week they are released.
    id: 'plan', record: 'hazard_area', title: 'layer.plan',
    styles: [
      { type: 'fill', paint: { 'fill-color': PLAN_COLOUR, 'fill-opacity': 0.2 } },
      { type: 'line', paint: { 'line-color': PLAN_COLOUR, 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 4, 13, 2.5] } },
    ],
    legend: { items: [...PLAN_WEEKS.map(([, c, key]) => [key, c]), ['plan.not_released', PLAN_NOT_RELEASED]],
      about: { url: '/api/plan/current', text: (doc) => (doc.current ? t('plan.run', { run: doc.run, date: doc.start_date, weeks: doc.horizon_weeks }) : t('plan.none')) } },
  },
  {
    id: 'priority_targets', record: 'priority_target', title: 'layer.priority_targets',
    styles: [
      { type: 'line', filter: geometry('LineString'), paint: { 'line-color': '#1f5fa8', 'line-width': 2.5 } },
      { type: 'circle', filter: geometry('Point'), paint: { 'circle-color': '#1f5fa8', 'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 3.5, 13, 7],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } },
    ],
    legend: { items: [['layer.priority_targets', '#1f5fa8']] },
  },
];
