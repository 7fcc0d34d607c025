/* Vitrine chat launcher: a module the counter loads (its URL is in the counter config's `m` when
 * the site's chat is on). The contract with the server is docs/chat-protocol.md. Budget: this file
 * and chat-panel.js together 12 KB brotli-11 (tests/js/test_build.py).
 *
 * It reads what it needs from the counter (vitrine.i visitor id, vitrine.k site key, vitrine.visit)
 * and the server's base URL from its own src (BASE/static/dist/chat.js), asks POST
 * BASE/chat/KEY/session, and renders the launcher button in a Shadow DOM root. The root is "open":
 * the page's scripts run in the same realm anyway (closed roots hide nothing from a script that
 * wraps attachShadow), and an open root lets assistive tools and the browser tests reach it; the
 * host's styles still cannot reach in, nor ours out.
 *
 * Commands (the counter keeps them in vitrine.p until this loads, then emits them as 'cmd'):
 *   vitrine('identify', {id, name, email, phone, hash})   vitrine('params', {…})
 *   vitrine('chat', 'open'|'close')
 * Events through the counter's bus: 'chat:open', 'chat:close', 'chat:message' ({c, seq, from,
 * text, file}). window.setOnlineChatCustomParams and window.setRoistatOnlineChatCustomParams are
 * vitrine('params', obj); window.onRoistatAllModulesLoaded() is called once, before the first
 * session request, so the params it sets ride along with it.
 *
 * The panel (chat-panel.js, URL in the session answer) is loaded when the visitor opens the chat
 * or has an open conversation; it talks to this file through the object vitrine.c (see `x`).
 */

const W = window;
const D = document;
const V = W.vitrine;
const me = D.currentScript;

if (V && V.l && me && !V.c) {
  let S;
  try {
    S = localStorage;
    S._vct; // eslint-disable-line no-unused-expressions
  } catch (e) {
    S = {};
  }
  let started;
  let timer;
  let again;
  let loading;
  const emit = (name, data) => V("emit", name, data);
  const host = D.createElement("div");
  const root = host.attachShadow({ mode: "open" });
  const style = D.createElement("style");
  style.textContent =
    ":host{all:initial;position:fixed;bottom:20px;right:20px;z-index:2147483000;font:14px/1.4 system-ui,sans-serif;color:#222;--c:#1f6feb}" +
    ":host(.L){right:auto;left:20px}:host([hidden]){display:none}*{box-sizing:border-box;font:inherit}" +
    ".l{width:56px;height:56px;border-radius:50%;border:0;background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 14px #0004;position:relative;display:grid;place-items:center}" +
    ".l svg{width:28px;height:28px;fill:#fff}.n{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#d1242f;color:#fff;font-size:12px;line-height:20px;font-weight:700}.n:empty{display:none}";
  const button = D.createElement("button");
  button.className = "l";
  button.innerHTML =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg><b class="n"></b>';
  const badge = button.lastChild;
  root.append(style, button);
  host.hidden = true;

  // What the panel shares with the launcher.
  const x = (V.c = {
    base: me.src.split("/static/dist/")[0],
    key: V.k,
    root,
    host,
    p: {}, // custom params
    o: 0, // the panel is open
    emit,
    S,
  });
  const live = (s) => s && s.conversations.some((c) => c.status != "resolved");
  const hidden = (s) => !s || (s.widget.state == "hidden" && !live(s));
  const load = () => {
    if (!loading && x.s) {
      loading = D.createElement("script");
      loading.async = true;
      loading.src = x.s.panel;
      D.head.append(loading);
    }
  };
  x.badge = (n) => (badge.textContent = n > 0 ? (n > 99 ? "99+" : n) : "");
  const render = () => {
    const s = x.s;
    host.hidden = hidden(s);
    if (s) {
      host.style.setProperty("--c", s.widget.color);
      host.className = s.widget.position == "left" ? "L" : "";
      button.setAttribute("aria-label", s.widget.texts.launcher || "Chat");
      x.badge(s.conversations.reduce((n, c) => n + (c.unread || 0), 0));
      if (live(s) || x.want) load();
      if (x.want) x.open();
    }
  };
  x.open = () => {
    x.want = 1;
    if (!hidden(x.s) && !x.o) {
      x.want = 0;
      x.o = 1;
      load();
      if (x.show) x.show(1);
      emit("chat:open");
    }
  };
  x.close = () => {
    x.want = 0;
    if (x.o) {
      x.o = 0;
      if (x.show) x.show(0);
      emit("chat:close");
    }
  };
  button.onclick = () => (x.o ? x.close() : x.open());

  // POST /chat/KEY/session; resolves to the answer (also kept in x.s) or null.
  x.session = () => {
    const id = x.id;
    const identity = id && {};
    if (id) for (const k of ["id", "name", "email", "phone", "hash"]) if (id[k] != null) identity[k] = "" + id[k];
    return fetch(`${x.base}/chat/${x.key}/session`, {
      method: "POST",
      body: JSON.stringify({
        i: V.i,
        v: V.visit,
        token: S._vct || null,
        lang: navigator.languages,
        u: location.href,
        identity,
        params: Object.keys(x.p).length ? x.p : void 0, // none: the stored ones stay
      }),
    })
      .then((r) => (r.ok ? r.json() : null))
      .then((s) => {
        if (s) {
          S._vct = s.token;
          x.s = s;
          render();
          if (x.upd) x.upd(s);
        }
        return s;
      })
      .catch(() => null);
  };

  // Changes after the first session: params go over the panel's socket when it is connected,
  // anything else (identify) asks for a session again.
  const sync = (identity) => {
    again = again || identity || !x.send;
    if (started) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (again) x.session();
        else x.send({ t: "params", params: x.p });
        again = 0;
      }, 150);
    }
  };
  const command = ([name, a]) => {
    if (name == "params" && a && typeof a == "object") {
      Object.assign(x.p, a);
      sync();
    }
    if (name == "identify" && a && typeof a == "object") {
      x.id = a;
      sync(1);
    }
    if (name == "chat") a == "close" ? x.close() : x.open();
  };
  for (const call of V.p || []) command(call);
  V("on", "cmd", command);
  W.setOnlineChatCustomParams = W.setRoistatOnlineChatCustomParams = (params) => V("params", params);
  try {
    if (W.onRoistatAllModulesLoaded) W.onRoistatAllModulesLoaded();
  } catch (e) {}
  const mount = () => D.body.append(host);
  D.body ? mount() : addEventListener("DOMContentLoaded", mount);

  // The first session waits (a little) for the visit number, so the chat is tied to the visit.
  const start = () => {
    if (!started) {
      started = 1;
      again = 0;
      x.session();
    }
  };
  V("ready", start);
  setTimeout(start, 1500);
}
