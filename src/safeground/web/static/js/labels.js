// The record model's labels per layer (GET /api/layers/{layer}/labels), fetched once per layer.
import { api } from './api.js';
import { label } from './i18n.js';

const cache = new Map();

export function labelsOf(layer) {
  if (!cache.has(layer)) cache.set(layer, api(`/api/layers/${layer}/labels`).catch(() => ({ fields: {}, terms: {} })));
  return cache.get(layer);
}

/** A field's label in the current language. */
export const fieldLabel = (labels, name) => label(labels.fields?.[name], name.replaceAll('_', ' '));

/** A value as people read it: vocabulary codes by their label, lists joined, null as a dash. */
export function valueText(labels, name, value) {
  if (value === null || value === undefined || value === '') return '–';
  const terms = labels.terms?.[name];
  if (terms) return String(value).split(' ').map((code) => label(terms[code], code)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  const unit = labels.units?.[name];
  return unit ? `${value} ${unit.replace('m2', 'm²')}` : String(value);
}
