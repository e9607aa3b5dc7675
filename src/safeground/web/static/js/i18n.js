// Interface strings from the catalogues in /static/i18n (English is the fallback for missing keys),
// the language switcher, and right-to-left layout for Arabic (CSS uses logical properties only).
export const LANGUAGES = { en: 'English', es: 'Español', ar: 'العربية' };
const RTL = new Set(['ar']);
const KEY = 'safeground.lang';
let strings = {};
let english = {};
export let lang = 'en';

async function catalogue(code) {
  const answer = await fetch(`/static/i18n/${code}.json`);
  return answer.ok ? answer.json() : {};
}

/** The interface string `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = strings[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

/** A label from a {lang: label} map (record model labels), in the current language, else English. */
export function label(labels, fallback = '') {
  if (!labels) return fallback;
  return labels[lang] || labels.en || fallback;
}

/** Fill every [data-i18n] element's text and [data-i18n-placeholder] element's placeholder. */
export function apply(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}

/** Switch to language `code`: load its catalogue, set lang/dir on <html>, refill the page, tell listeners. */
export async function setLanguage(code) {
  if (!(code in LANGUAGES)) code = 'en';
  if (!Object.keys(english).length) english = await catalogue('en');
  strings = code === 'en' ? english : await catalogue(code);
  lang = code;
  localStorage.setItem(KEY, code);
  document.documentElement.lang = code;
  document.documentElement.dir = RTL.has(code) ? 'rtl' : 'ltr';
  apply();
  document.dispatchEvent(new CustomEvent('languagechange', { detail: code }));
}

/** Start in the stored language, else the browser's, and wire the <select id="language"> switcher. */
export async function initLanguage() {
  const stored = localStorage.getItem(KEY) || (navigator.language || 'en').slice(0, 2);
  const select = document.getElementById('language');
  if (select) {
    select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => new Option(name, code)));
    select.addEventListener('change', () => setLanguage(select.value));
  }
  await setLanguage(stored in LANGUAGES ? stored : 'en');
  if (select) select.value = lang;
}
