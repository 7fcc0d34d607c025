/* Vitrine counter: loaded by the pasted stub from /s/{site_key}.js. The contract with the server is
 * docs/counter-protocol.md; follow it when changing anything here. Budget: 1,500 bytes brotli-11.
 *
 * Commands (queued by the stub in vitrine.q until this script runs, replayed in order):
 *   vitrine('event', name, props)  an event; props is a flat object
 *   vitrine('ready', fn)           fn({visit}) once the visit number is known (at once if it is)
 *   vitrine('consent', false|true) false: hold hits in memory; true: send the held hits, in order
 *   vitrine('on', name, fn)        listen to a named event (widget modules; 'ready' is one)
 *   vitrine('emit', name, data)    call the listeners of a named event (for widget modules)
 * Any other command (identify, chat, params, …) is kept in vitrine.p (its argument arrays, in
 * order) and emitted as 'cmd' (data: the argument array): a module replays vitrine.p when it
 * loads, then listens to 'cmd'. Modules: the config's m, always; its y (buy.js) only when the
 * page has a [data-vitrine-buy] element or calls vitrine('buy', …). vitrine.i is the anonymous visitor id, vitrine.k the site key. vitrine.visit is the visit number once known (after the first
 * answer of each page load). Nothing is sent at all, and 'ready' never fires, under DNT/GPC when
 * the site honours them, in an automated browser unless the site allows it, and for the owner
 * (localStorage._vx, set by ?vitrine_ignore=1, cleared by ?vitrine_ignore=0).
 *
 * Limits (enforced by the server, which refuses the whole hit with a 4xx; this script does not
 * check them, to stay small): a body of at most 4 KB; event name 1-120 characters; props at most
 * 30 keys, each key 1-40 characters, each value a string of at most 500 characters, a finite
 * number or a boolean; page URL and referrer at most 2,048 characters.
 */

// Replaced by the server with the site's settings (a JSON object); must occur exactly once.
const C = "__VITRINE_CONFIG__";
const stub = window.vitrine;

if (!(stub && stub.l)) {
  const nav = navigator;
  const loc = location;
  const E = C.e;
  const listeners = {};
  const held = [];
  const out = [];
  let store;
  let visitor;
  let kept;
  let busy;
  let last;
  let live;
  let ref = document.referrer || void 0;
  let ok = !C.c;
  let quiet = nav.webdriver && !C.b;
  const on = (name, fn) => (listeners[name] = listeners[name] || []).push(fn);
  const emit = (name, data) =>
    (listeners[name] || []).map((fn) => {
      try {
        fn(data);
      } catch (e) {}
    });
  const cookie = (name, value, age) => {
    try {
      if (value) document.cookie = `${name}=${value};path=/;max-age=${age};samesite=lax`;
      else return (document.cookie.match(`(^|; )${name}=([^;]*)`) || [])[2];
    } catch (e) {}
  };
  const params = new URLSearchParams(loc.search);
  const source = encodeURIComponent(
    "utm_source utm_medium utm_campaign utm_term utm_content gclid yclid fbclid msclkid ttclid"
      .split(" ")
      .filter((k) => params.has(k))
      .map((k) => `${k}=${params.get(k)}`)
      .join("&"),
  );

  try {
    store = localStorage;
    const ignore = params.get("vitrine_ignore");
    if (ignore) ignore == "1" ? (store._vx = "1") : store.removeItem("_vx");
    if (store._vx == "1") quiet = 1;
    visitor = store._vi = store._vi || Date.now().toString(36) + Math.random().toString(36).slice(2);
  } catch (e) {
    visitor = cookie("_vi");
    if (!visitor) cookie("_vi", (visitor = Date.now().toString(36) + Math.random().toString(36).slice(2)), 4e7);
  }
  if (C.n && (nav.doNotTrack == "1" || nav.globalPrivacyControl)) quiet = 1;

  // The visit cookie: NUMBER.START.SOURCE, kept under 14 days and while the source is the same.
  const m = /^(\d+)\.(\d+)\.(.*)$/.exec(cookie("_vt"));
  if (m && Date.now() - m[2] < 12096e5 && (!source || source == m[3])) kept = +m[1];

  const known = (v) => {
    if (v != kept) cookie("_vt", `${v}.${Date.now()}.${source}`, 1209600);
    kept = api.visit = v;
    emit("ready", { visit: v });
  };

  // The first hit goes by fetch to read the visit number ({v} on a 200; a 204 means the visit it
  // sent goes on); the others wait for it, then go by beacon.
  const post = (body) => fetch(E, { method: "POST", body, keepalive: true });
  const pump = () => {
    while (!busy && out.length) {
      const hit = out.shift();
      if (api.visit) {
        hit.v = api.visit;
        const body = JSON.stringify(hit);
        try {
          if (nav.sendBeacon(E, new Blob([body], { type: "text/plain" }))) continue;
        } catch (e) {}
        post(body).catch(() => {});
      } else {
        busy = 1;
        hit.v = kept;
        post(JSON.stringify(hit))
          .then((r) => (r.status == 204 ? { v: kept } : r.json()))
          .then((j) => j.v && known(j.v))
          .catch(() => {})
          .finally(() => {
            busy = 0;
            pump();
          });
      }
    }
  };
  const flush = () => {
    if (ok && live) {
      out.push(...held.splice(0));
      pump();
    }
  };
  const send = (t, extra) => {
    if (!quiet) {
      held.push({ t, u: loc.href, r: ref, i: visitor, ...extra });
      ref = void 0;
      flush();
    }
  };
  const page = () => {
    const u = C.h ? loc.href : loc.href.split("#")[0];
    if (u != last) {
      last = u;
      send("p");
    }
  };
  const load = (src) => {
    const s = document.createElement("script");
    s.async = true;
    s.src = src;
    document.head.append(s);
  };
  // The buy module (config y), loaded once: when the page has a [data-vitrine-buy] element (at
  // load and at DOMContentLoaded, whose Event is not == 1) or is told 'buy' (go: 1).
  const buy = (go) => {
    if (C.y && (go == 1 || document.querySelector("[data-vitrine-buy]"))) C.y = load(C.y);
  };
  // Commands of its own; any other is kept in vitrine.p and emitted as 'cmd' for the modules.
  const api = (...args) => {
    const [command, a, b] = args;
    if (command == "event") send("e", { n: a, p: b });
    else if (command == "ready") api.visit ? a({ visit: api.visit }) : on("ready", a);
    else if (command == "consent") (ok = a) && flush();
    else if (command == "on") on(a, b);
    else if (command == "emit") emit(a, b);
    else {
      api.p.push(args);
      if (command == "buy") buy(1);
      emit("cmd", args);
    }
  };
  api.p = [];
  api.i = visitor;
  api.k = C.k;

  page();
  for (const call of (stub && stub.q) || []) {
    try {
      api(...call);
    } catch (e) {}
  }
  window.vitrine = api;
  for (const k of ["pushState", "replaceState"]) {
    const f = history[k];
    history[k] = function () {
      const r = f.apply(this, arguments);
      page();
      return r;
    };
  }
  addEventListener("DOMContentLoaded", buy);
  addEventListener("popstate", page);
  addEventListener("hashchange", page); // a pageview only with hash routing: see page()
  if (C.o || C.d)
    addEventListener(
      "click",
      (e) => {
        try {
          const a = e.target.closest("a[href]");
          const url = a.href;
          if (C.d && /\.(pdf|zip|docx?|xlsx?|pptx?|csv|txt|rar|7z|gz|dmg|exe|msi|apk|mp3|mp4|mov|avi)$/i.test(a.pathname))
            send("e", { n: "File Download", p: { url } });
          else if (C.o && /^http/.test(a.protocol) && a.host != loc.host)
            send("e", { n: "Outbound Link", p: { url } });
        } catch (e) {}
      },
      true,
    );
  (C.m || []).map(load);
  buy();
  live = 1;
  flush();
  api.l = true;
}
