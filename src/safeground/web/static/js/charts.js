// Small SVG charts for the dashboard: horizontal bars, optionally stacked. No library: a few elements each.
import { el } from './api.js';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, text) => {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};
export const PALETTE = ['#c0392b', '#f28e2b', '#e3b505', '#1e7b34', '#1f5fa8', '#8e44ad', '#6d4c41', '#7f8c8d'];
const fmt = (v) => (Number.isInteger(v) ? v.toLocaleString() : v.toLocaleString(undefined, { maximumFractionDigits: 2 }));

/**
 * A horizontal bar chart in a card. `rows`: [[label, [v1, v2...]]] (one value per series: stacked);
 * `series`: the series' names (shown as a key when more than one).
 */
export function barChart(title, rows, series = [''], { unit = '', colors = PALETTE } = {}) {
  const rowH = 22;
  const labelW = 190;
  const width = 480;
  const barW = width - labelW - 70;
  const max = Math.max(1e-9, ...rows.map(([, vs]) => vs.reduce((a, b) => a + b, 0)));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${rows.length * rowH + 8}`, role: 'img', 'aria-label': title });
  rows.forEach(([name, values], i) => {
    const y = i * rowH + 4;
    const room = Math.floor((labelW - 10) / 7);  // characters that fit beside the bars at 12px
    const shown = name.length > room ? `${name.slice(0, room - 1)}…` : name;
    const text = svg('text', { x: labelW - 6, y: y + 14, 'text-anchor': 'end' }, shown);
    text.append(svg('title', {}, name));
    chart.append(text);
    let x = labelW;
    values.forEach((v, s) => {
      const w = (v / max) * barW;
      if (w > 0) chart.append(svg('rect', { x, y, width: w, height: rowH - 6, fill: colors[s % colors.length] }, undefined));
      x += w;
    });
    const total = values.reduce((a, b) => a + b, 0);
    chart.append(svg('text', { x: x + 4, y: y + 14 }, `${fmt(total)}${unit}`));
  });
  const key = series.length > 1 ? el('ul', { class: 'legend' }, series.map((s, i) =>
    el('li', {}, el('span', { class: 'swatch', style: `background:${colors[i % colors.length]}` }), s))) : null;
  const body = rows.length ? chart : el('p', { class: 'muted' }, '–');
  return el('section', { class: 'card chart' }, el('h2', {}, title), body, key);
}
