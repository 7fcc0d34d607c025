/* Vitrine chat panel: loaded by chat.js (the launcher) when the visitor opens the chat or has an
 * open conversation. The contract with the server is docs/chat-protocol.md.
 *
 * This module holds the conversations and the socket, the panel's frame, the chat and the list
 * of earlier chats; the forms (pre-chat, rating, transcript, leave-a-message) are in
 * chat-forms.js and what every view is built from (texts, elements, error bar, HTTP calls) in
 * chat-ui.js. esbuild bundles the three into dist/chat-panel.js.
 *
 * It shares the object vitrine.c with the launcher: x.s (the session answer), x.root (the shadow
 * root), x.base, x.key, x.p (custom params), x.o (open), x.emit, x.badge(n), x.session() (asks for
 * a session again), x.close(); it sets x.show(on), x.send(frame) and x.upd(session).
 *
 * Messages are kept by conversation and seq (sessionStorage, so a reload shows them at once); the
 * server is the source of truth: each (re)connect says, per conversation, the seq up to which it
 * holds every message (see top) and receives what was missed. A message sent is pending (shown
 * "…") until its ack; pending messages are sent again with the same cid after a reconnect (the
 * server stores a cid once).
 *
 * Every string from the server, the visitor or the page is put in the DOM as text (textContent,
 * append of strings): never as HTML.
 */

import { askContact, contact, offline, offlineThanks, rating, transcript } from "./chat-forms.js";
import { D, J, T, button, errors, fail, h, post, x } from "./chat-ui.js";

if (x && !x.show) {
  const live = (c) => c && c.status != "resolved";
  const SKEY = "_vcm" + x.key;

  let M = {}; // conversation id -> {seq: message}
  try {
    M = JSON.parse(sessionStorage[SKEY] || "{}");
  } catch (e) {}
  const C = {}; // conversation id -> summary
  const P = {}; // cid -> {f: the send frame, m: the message as shown}
  const R = {}; // conversation id -> the operator has read up to seq
  const seen = {}; // conversation id -> read frame sent up to seq
  let cur = null; // the conversation on screen (null: a new one)
  let view; // "c" chat, "l" list, "r" rating, "t" transcript, "f" offline form, "d" done
  let ws;
  let tries = 0;
  let typing; // the operator is typing (timer)
  let typed = 0; // when the visitor's last typing frame went
  let stopTyping;
  let blinking;
  let title;
  let rated;

  const save = () => {
    try {
      sessionStorage[SKEY] = J(M);
    } catch (e) {}
  };
  // The seq this side holds every message up to: each message names the one before it (prev),
  // so a gap left by a note is no loss, and one left by a message still on its way (two
  // server processes) is asked for again on reconnecting.
  const top = (c) => {
    const after = {};
    for (const m of Object.values(M[c] || {})) if (m.prev != null) after[m.prev] = m.seq;
    let s = 0;
    while (after[s] > s) s = after[s];
    return s;
  };
  const out = (frame) => ws && ws.readyState == 1 && (ws.send(J(frame)), 1);
  const cid = () => Math.random().toString(36).slice(2) + Date.now().toString(36);
  const merge = (list) => {
    for (const c of list || []) C[c.id] = { ...C[c.id], ...c };
  };
  const badge = () => x.badge(Object.values(C).reduce((n, c) => n + (c.unread || 0), 0));

  // --- the panel ---------------------------------------------------------------------------------
  const style = h("style", {
    textContent:
      ".p{position:absolute;bottom:70px;right:0;width:370px;height:560px;max-height:calc(100vh - 110px);background:#fff;border-radius:12px;box-shadow:0 8px 30px #0004;display:flex;flex-direction:column;overflow:hidden}" +
      ":host(.L) .p{right:auto;left:0}[hidden]{display:none!important}" +
      ".h{background:var(--c);color:#fff;padding:10px 12px;display:flex;gap:6px;align-items:center}.h b{flex:1;font-weight:700}" +
      ".h button{background:#fff3;color:#fff;border:0;border-radius:6px;padding:4px 8px;cursor:pointer}" +
      ".e{background:#fde8e8;color:#a40e26;padding:8px 12px}.e:empty{display:none}" +
      ".b{flex:1;overflow:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}" +
      ".m{max-width:80%;padding:8px 10px;border-radius:10px;background:#fff;box-shadow:0 1px 2px #0002;align-self:flex-start;white-space:pre-wrap;overflow-wrap:anywhere}" +
      ".m.v{align-self:flex-end;background:var(--c);color:#fff}.m.s{align-self:center;background:none;box-shadow:none;color:#666;font-size:12px}" +
      ".m small{display:block;font-size:11px;opacity:.7}.m p{margin:0}.m img{max-width:200px;max-height:160px;display:block;border-radius:6px}.m a{color:inherit}" +
      ".k{display:block;text-align:right;font-size:11px;font-style:normal;opacity:.8}" +
      ".y{padding:0 12px;color:#666;font-size:12px;min-height:18px}" +
      "form{display:flex;flex-direction:column;gap:6px;padding:8px;border-top:1px solid #e5e5e5}form>div:empty{display:none}.r{display:flex;gap:6px;align-items:flex-end}" +
      "textarea,input{flex:1;border:1px solid #ccc;border-radius:8px;padding:8px;resize:none;background:#fff;color:#222;width:100%}" +
      "form button,.b button{background:var(--c);color:#fff;border:0;border-radius:8px;padding:8px 12px;cursor:pointer}.b button.q{background:#fff;color:#222;border:1px solid #ddd;text-align:left}" +
      ".st button{font-size:20px;background:none;color:#c9a000;padding:2px}.st button[aria-pressed=true]{background:#fff3c4}" +
      "@media (max-width:640px){.p{position:fixed;inset:0;width:auto;height:auto;max-height:none;border-radius:0}}",
  });
  const head = h("b", { textContent: T("title") });
  const listButton = button("≡", () => show("l"));
  // Ending takes two clicks: the first turns the button into the question.
  const endButton = button(T("end_chat"), () => {
    if (endButton.k) {
      out({ t: "end", c: cur });
      rated = cur;
      show("r");
    } else {
      endButton.k = 1;
      endButton.textContent = T("end_confirm");
      setTimeout(() => {
        endButton.k = 0;
        endButton.textContent = T("end_chat");
      }, 4000);
    }
  });
  const body = h("div", { className: "b", role: "log" });
  const typingLine = h("div", { className: "y", ariaLive: "polite" });
  const prechat = h("div");
  const text = h("textarea", { rows: 2, placeholder: T("placeholder") });
  const file = h("input", { type: "file", hidden: true });
  const form = h(
    "form",
    {},
    prechat,
    h("div", { className: "r" }, button("+", () => file.click()), text, h("button", { textContent: T("send") })),
  );
  const panel = h(
    "div",
    { className: "p", hidden: true, role: "dialog" },
    h("div", { className: "h" }, head, listButton, endButton, h("button", { type: "button", textContent: "×", ariaLabel: T("close"), onclick: () => x.close() })),
    errors,
    body,
    typingLine,
    form,
    file,
  );
  x.root.append(style, panel);
  listButton.title = T("earlier");
  form.lastChild.firstChild.title = T("attach");
  form.lastChild.lastChild.setAttribute("aria-label", T("send"));

  const bubble = (m, pending) => {
    const mine = m.from == "visitor";
    const f = m.file;
    const link = f && /^https?:/.test(f.url) ? h("a", { href: f.url, target: "_blank", rel: "noopener" }) : null;
    if (link) link.append(/^image\//.test(f.type) ? h("img", { src: f.url, alt: f.name }) : f.name);
    return h(
      "div",
      { className: "m " + (mine ? "v" : m.from == "system" ? "s" : "o") },
      !mine && m.author && m.author.name ? h("small", { textContent: m.author.name }) : null,
      m.text ? h("p", { textContent: m.text }) : null,
      link,
      mine ? h("i", { className: "k", textContent: pending ? "…" : R[m.c] >= m.seq ? "✓✓" : "✓" }) : null,
    );
  };

  // The view, drawn again from the state after each change (a conversation is short).
  const draw = () => {
    const s = x.s;
    const open = cur != null && live(C[cur]);
    const may = open || s.can_start;
    endButton.hidden = !open || view != "c";
    form.hidden = view != "c" || !may;
    body.textContent = "";
    if (view == "c") {
      if (!may) body.append(h("div", { className: "m s", textContent: T("identity_required") }));
      body.append(h("div", { className: "m o", textContent: T("greeting") }));
      for (const m of Object.values(M[cur] || {}).sort((a, b) => a.seq - b.seq)) body.append(bubble(m));
      for (const p of Object.values(P)) if (p.f.c == cur) body.append(bubble(p.m, 1));
      if (cur != null && !open) body.append(h("div", { className: "m s", textContent: T("chat_ended") }));
      askContact(prechat, !open && !Object.keys(P).length);
      body.scrollTop = 1e9;
      read();
    } else if (view == "l") {
      body.append(h("b", { textContent: T("earlier") }), button(T("new_chat"), fresh));
      const list = Object.values(C).sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
      if (!list.length) body.append(T("no_conversations"));
      for (const c of list) {
        const item = button(c.last_text || "…", () => {
          cur = c.id;
          show("c");
          if (!M[c.id]) reconnect(); // its history comes with the next hello
        });
        item.className = "q";
        if (!live(c)) item.append(h("small", { textContent: ` · ${T("chat_ended")}` }));
        body.append(item);
      }
    } else if (view == "r") rating(body, rated, () => show("t"));
    else if (view == "t") transcript(body, rated, fresh);
    else if (view == "f") offline(body, () => show("d"));
    else offlineThanks(body);
  };
  const show = (name) => {
    view = name;
    draw();
  };
  const fresh = () => ((cur = null), show("c"));
  // After news: forms being filled in (rating, transcript, offline message) are left alone.
  const redraw = () => (view == "c" || view == "l") && draw();

  // The visitor has seen the operator's messages of the conversation on screen.
  const read = () => {
    const c = cur;
    if (c != null && x.o && view == "c" && !D.hidden) {
      const seq = Math.max(0, ...Object.values(M[c] || {}).filter((m) => m.from != "visitor").map((m) => m.seq));
      if (seq > (seen[c] || 0) && out({ t: "read", c, seq })) seen[c] = seq;
      if (C[c] && C[c].unread) {
        C[c].unread = 0;
        badge();
      }
    }
  };

  // --- sending -------------------------------------------------------------------------------------
  const send = (words, upload) => {
    const c = cur != null && live(C[cur]) ? cur : null;
    const f = { t: "send", c, cid: cid(), text: words };
    if (upload) f.file = upload.id;
    if (c == null) {
      const given = contact(prechat);
      if (Object.keys(given).length) f.contact = given;
      // One conversation starts once: later messages wait for its ack to know its id.
      if (Object.values(P).some((p) => p.f.c == null)) f.w = 1;
      cur = null;
    }
    P[f.cid] = { f, m: { from: "visitor", text: words, file: upload, c } };
    if (!f.w) out(f);
    fail();
    draw();
  };
  const resend = () => {
    for (const p of Object.values(P)) if (!p.f.w) out(p.f);
  };
  // A pending message is stored (its ack, or its msg frame when that comes first).
  const stored = (p, c, f) => {
    delete P[f.cid];
    const conv = (C[c] = C[c] || { id: c, status: "new" });
    (M[c] = M[c] || {})[f.seq] = { ...p.m, c, seq: f.seq, id: f.id, at: f.at, cid: f.cid, prev: f.prev };
    save();
    if (f.seq > (conv.last_seq || 0)) conv.last_seq = f.seq;
    if (p.f.c == null) {
      if (cur == null) cur = c;
      for (const q of Object.values(P))
        if (q.f.w) {
          q.f.c = q.m.c = c;
          delete q.f.w;
          out(q.f);
        }
    }
    x.emit("chat:message", { c, seq: f.seq, from: "visitor", text: p.m.text, file: p.m.file });
  };
  form.onsubmit = (e) => {
    e.preventDefault();
    const words = text.value.trim();
    if (words) {
      send(words);
      text.value = "";
      if (cur != null) out({ t: "typing", c: cur, on: false });
      typed = 0;
    }
  };
  text.onkeydown = (e) => {
    if (e.key == "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  };
  text.oninput = () => {
    if (cur != null && Date.now() - typed > 2000) {
      typed = Date.now();
      out({ t: "typing", c: cur, on: true });
    }
    clearTimeout(stopTyping);
    stopTyping = setTimeout(() => {
      typed = 0;
      if (cur != null) out({ t: "typing", c: cur, on: false });
    }, 3000);
  };
  file.onchange = () => {
    const chosen = file.files[0];
    const words = text.value.trim();
    file.value = "";
    if (chosen && chosen.size > 5 << 20) fail(T("file_too_large"));
    else if (chosen) {
      const data = new FormData();
      data.append("token", x.s.token);
      data.append("file", chosen);
      text.value = "";
      post("files", data, 1)
        .then((answer) => send(words, answer.file))
        .catch(() => (text.value = words));
    }
  };

  // --- news: a beep and a blinking title while the visitor looks elsewhere -----------------------
  const beep = () => {
    try {
      const a = new AudioContext();
      const o = a.createOscillator();
      const g = a.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.06;
      o.connect(g).connect(a.destination);
      o.start();
      o.stop(a.currentTime + 0.15);
      o.onended = () => a.close();
    } catch (e) {}
  };
  D.addEventListener("visibilitychange", () => {
    if (!D.hidden) {
      if (blinking) D.title = title;
      clearInterval(blinking);
      blinking = 0;
      read();
    }
  });
  const news = () => {
    if (D.hidden || !x.o) beep();
    if (D.hidden && !blinking) {
      title = D.title;
      blinking = setInterval(() => (D.title = D.title == title ? `💬 ${T("new_message")}` : title), 1000);
    }
  };

  // --- the socket ------------------------------------------------------------------------------------
  const frame = (f) => {
    const c = f.c;
    if (f.t == "welcome") {
      tries = 0;
      typingLine.textContent = "";
      merge(f.conversations);
      badge();
      resend();
      if (Object.keys(x.p).length) out({ t: "params", params: x.p });
    } else if (f.t == "msg") {
      const held = (M[c] = M[c] || {});
      const p = P[f.cid];
      if (p) stored(p, c, f);
      else if (held[f.seq]) held[f.seq].prev = f.prev;
      else {
        held[f.seq] = f;
        save();
        // Newer than the summary said when we connected: it arrived now.
        const conv = (C[c] = C[c] || { id: c, status: "open" });
        if (f.seq > (conv.last_seq || 0)) {
          conv.last_seq = f.seq;
          conv.last_text = f.text;
          if (f.from != "visitor") {
            news();
            if (!(x.o && cur == c && view == "c" && !D.hidden)) conv.unread = (conv.unread || 0) + 1;
          }
          x.emit("chat:message", { c, seq: f.seq, from: f.from, text: f.text, file: f.file });
        }
        if (f.from != "visitor" && cur == c) typingLine.textContent = "";
        badge();
      }
    } else if (f.t == "ack") {
      const p = P[f.cid];
      if (p) stored(p, c, f);
    } else if (f.t == "conv") {
      merge([f.conversation]);
      badge();
    } else if (f.t == "typing") {
      if (c == cur) {
        typingLine.textContent = f.on ? T("typing") : "";
        clearTimeout(typing);
        typing = setTimeout(() => (typingLine.textContent = ""), 8000);
      }
    } else if (f.t == "read") {
      R[c] = Math.max(R[c] || 0, f.seq);
    } else if (f.t == "error") {
      fail(f.message, f.retry_after);
      const p = P[f.cid];
      if (p) {
        // Refused: not sent; its text goes back to the box.
        delete P[f.cid];
        if (!text.value) text.value = p.m.text;
      }
      if (f.code == "closed") cur = null;
    }
    redraw();
  };
  const connect = () => {
    const since = {};
    for (const c of Object.keys(C)) if (live(C[c])) since[c] = top(c);
    for (const c of Object.keys(M)) since[c] = top(c);
    if (cur != null) since[cur] = top(cur);
    const socket = (ws = new WebSocket(x.s.ws));
    socket.onopen = () => socket.send(J({ t: "hello", site: x.key, token: x.s.token, since }));
    socket.onmessage = (e) => {
      try {
        if (ws == socket) frame(JSON.parse(e.data));
      } catch (err) {}
    };
    socket.onclose = (e) => {
      if (ws != socket) return;
      ws = null;
      typingLine.textContent = T("reconnecting");
      // Exponential backoff with jitter; a refused token first asks for a new session (whose
      // answer reconnects, see x.upd).
      setTimeout(
        () => (e.code == 4401 ? x.session().then((s) => s || connect()) : connect()),
        Math.min(30000, 500 * 2 ** tries++) * (0.5 + Math.random()),
      );
    };
  };
  const reconnect = () => {
    const old = ws;
    ws = null;
    if (old) old.close();
    connect();
  };
  setInterval(() => out({ t: "ping" }), 25000);

  // --- wiring to the launcher -------------------------------------------------------------------
  x.send = out;
  x.show = (on) => {
    panel.hidden = !on;
    if (on) {
      redraw();
      text.focus();
    }
  };
  // A new session (identify): the socket speaks for the visitor as the server knows it now.
  x.upd = (s) => {
    merge(s.conversations);
    badge();
    redraw();
    reconnect();
  };
  merge(x.s.conversations);
  const latest = Object.values(C)
    .filter(live)
    .sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1))[0];
  if (latest) cur = latest.id;
  view = x.s.widget.state == "form" && !latest ? "f" : "c";
  connect();
  draw();
  x.show(x.o);
}
