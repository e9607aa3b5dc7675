// The dashboard: official figures and charts from the signed-in /api/stats routes.
import { api, el, showProblem, token } from './api.js';
import { initLanguage, label, t } from './i18n.js';
import { barChart } from './charts.js';

const OUTCOME_COLORS = ['#7a1d14', '#f28e2b', '#b0b7bd'];
import { labelsOf } from './labels.js';

const $ = (id) => document.getElementById(id);
const term = (labels, field, code) => label(labels.terms?.[field]?.[code], code === 'unknown' ? t('stats.unknown') : code);

function figure(key, value) {
  return el('div', { class: 'figure' }, el('strong', {}, value.toLocaleString(undefined, { maximumFractionDigits: 2 })), t(key));
}

async function render(docs) {
  const [summary, casualties, bySex, byAge, release] = docs;
  const hazardLabels = await labelsOf('hazard_area');
  const casualtyLabels = await labelsOf('casualty');
  const c = summary.contamination;
  const page = $('page');
  page.replaceChildren(
    el('h1', {}, t('dashboard.title')),
    el('p', { class: 'wide muted', style: 'margin: 0' }, t('dashboard.official')),
    el('div', { class: 'figures wide' },
      figure('stats.hazards', c.hazards), figure('stats.remaining_km2', c.remaining_km2),
      figure('stats.released_km2', summary.land_release.released_km2), figure('stats.devices_destroyed', summary.devices.destroyed),
      figure('stats.casualties', casualties.records.people), figure('stats.eore_beneficiaries', summary.eore.beneficiaries)),
    barChart(t('chart.hazards_by_class'), Object.entries(c.by_class).map(([k, v]) => [term(hazardLabels, 'hazard_class', k), [v.hazards]])),
    barChart(t('chart.hazards_by_status'), Object.entries(c.by_status).map(([k, v]) => [term(hazardLabels, 'status', k), [v]])),
    barChart(t('chart.remaining_by_class'), Object.entries(c.by_class).map(([k, v]) => [term(hazardLabels, 'hazard_class', k), [v.remaining_km2]]), [''], { unit: ' km²' }),
    barChart(t('chart.released_by_year'), release.released.groups.map((g) => [String(g.year ?? t('stats.unknown')), [g.cancelled_km2, g.reduced_km2, g.cleared_km2]]),
      [t('release.cancelled'), t('release.reduced'), t('release.cleared')], { unit: ' km²', colors: ['#a8dba8', '#5cb85c', '#1e7b34'] }),
    barChart(t('chart.casualties_by_status'), ['civilian', 'military', 'deminer', 'missing'].map((k) =>
      [k === 'missing' ? t('stats.unknown') : term(casualtyLabels, 'status', k), [casualties.status[k] ?? 0]])),
    barChart(t('chart.casualties_by_sex'), bySex.breakdown.map((r) => [term(casualtyLabels, 'sex', r.key.sex), [r.killed, r.injured, r.unknown]]),
      [t('outcome.killed'), t('outcome.injured'), t('outcome.unknown')], { colors: OUTCOME_COLORS }),
    barChart(t('chart.casualties_by_age'), byAge.breakdown.map((r) => [term(casualtyLabels, 'age_group', r.key.age_group), [r.killed, r.injured, r.unknown]]),
      [t('outcome.killed'), t('outcome.injured'), t('outcome.unknown')], { colors: OUTCOME_COLORS }),
    barChart(t('chart.eore'), ['women', 'girls', 'boys', 'men'].map((k) => [t(`eore.${k}`), [summary.eore[k]]])),
  );
}

async function main() {
  await initLanguage();
  if (!token()) {
    $('page').replaceChildren(el('section', { class: 'card narrow' }, el('p', {}, t('dashboard.sign_in')), el('a', { href: '/' }, t('auth.sign_in'))));
    return;
  }
  try {
    const docs = await Promise.all(['/api/stats/summary', '/api/stats/casualties', '/api/stats/casualties?by=sex',
      '/api/stats/casualties?by=age_group', '/api/stats/release?by=year'].map((u) => api(u)));
    await render(docs);
    document.addEventListener('languagechange', () => render(docs));
    document.body.dataset.ready = 'true';
  } catch (err) {
    showProblem($('page'), err);
  }
}

main();
