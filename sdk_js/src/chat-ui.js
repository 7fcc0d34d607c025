/* Vitrine chat panel, what its views are built from (bundled with chat-panel.js and chat-forms.js
 * into dist/chat-panel.js): the object shared with the launcher (vitrine.c, see chat-panel.js),
 * the widget's texts, element helpers, the error bar, and the HTTP calls to the chat API
 * (docs/chat-protocol.md) whose refusals land in the error bar.
 *
 * Every string from the server, the visitor or the page is put in the DOM as text (textContent,
 * append of strings): never as HTML.
 */

export const D = document;
export const V = window.vitrine;
export const x = V && V.c;
export const J = JSON.stringify;
export const T = (key) => x.s.widget.texts[key] || "";
export const h = (tag, props, ...kids) => {
  const e = D.createElement(tag);
  Object.assign(e, props);
  e.append(...kids.filter((k) => k != null));
  return e;
};
export const button = (text, onclick, className = "") => h("button", { type: "button", textContent: text, onclick, className });

export const errors = h("div", { className: "e", role: "alert" });
// A message in the error bar, with the seconds to wait when a limit says (none: the bar empties).
export const fail = (message, retry) => {
  errors.textContent = message ? message + (retry ? ` (${retry} s)` : "") : "";
};
// A 4xx answer's message (and its fields' messages) in the error bar; with `wait`, the seconds
// its Retry-After asks for too.
const refused = (r, wait) =>
  r
    .json()
    .catch(() => ({}))
    .then(({ error: e = {} }) => {
      fail(
        [...new Set([e.message || T("error"), ...(e.details || []).map((d) => d.message)])].join(" "),
        wait && r.headers.get("Retry-After"),
      );
      throw 0;
    });
// POST to BASE/chat/KEY/PATH: JSON, or `data` as it is with `raw` (a FormData).
export const post = (path, data, raw, wait) =>
  fetch(`${x.base}/chat/${x.key}/${path}`, { method: "POST", body: raw ? data : J(data) }).then((r) =>
    r.ok ? r.json().catch(() => ({})) : refused(r, wait),
  );
