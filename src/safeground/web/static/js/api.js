// The app's JSON API: the sign-in token (kept for the browser session only) sent as a Bearer header, and
// errors turned into Problem exceptions carrying the server's RFC 9457 problem document (title, hint, code).
const KEY = 'safeground.token';

export const token = () => sessionStorage.getItem(KEY);
export const setToken = (value) => (value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY));

export class Problem extends Error {
  constructor(doc) {
    super(doc.title || `HTTP ${doc.status}`);
    this.doc = doc;
    this.status = doc.status;
    this.code = doc.code;
  }
}

/** Headers with the signed-in user's token, if any. */
export function authHeaders(extra = {}) {
  return token() ? { ...extra, Authorization: `Bearer ${token()}` } : extra;
}

/** Call the API; `body` is sent as JSON, a FormData as multipart. Resolves to the parsed JSON (or null). */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = authHeaders({ Accept: 'application/json' });
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  let answer;
  try {
    answer = await fetch(path, { method, headers, body: payload });
  } catch (err) {
    throw new Problem({ status: 0, code: 'network', title: String(err), hint: '' });
  }
  if (answer.status === 204) return null;
  const type = answer.headers.get('content-type') || '';
  const doc = type.includes('json') ? await answer.json() : null;
  if (!answer.ok) {
    if (answer.status === 401 && token()) setToken(null);
    throw new Problem(doc || { status: answer.status, code: `http.${answer.status}`, title: answer.statusText, hint: '' });
  }
  return doc;
}

/** Show an error in `el`: the problem's title, then its hint (how to fix it). */
export function showProblem(el, err) {
  el.hidden = false;
  el.className = 'problem';
  const doc = err instanceof Problem ? err.doc : { title: String(err), hint: '' };
  const title = document.createElement('strong');
  title.textContent = doc.title;
  const hint = document.createElement('div');
  hint.textContent = doc.hint || '';
  el.replaceChildren(title, hint);
}

/** A tiny element builder: el('td', {class: 'n'}, 'text', child...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.flat().filter((c) => c !== undefined && c !== null).map((c) => (c instanceof Node ? c : String(c))));
  return node;
}
