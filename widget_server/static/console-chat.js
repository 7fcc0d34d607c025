// Vitrine console: the live chat page. Talks to /ws/console and the console JSON routes as
// docs/chat-protocol.md describes. Every string that comes from a visitor, a page or the server
// is put into the page with textContent / DOM APIs, never parsed as HTML.
(function () {
  "use strict";

  var configNode = document.getElementById("chat-config");
  if (!configNode) { return; }
  var config = JSON.parse(configNode.textContent);
  var T = config.texts;
  var BASE = "/console/sites/" + encodeURIComponent(config.site);
  var PING_EVERY = 25000;
  var TYPING_EVERY = 2000;

  var state = {
    me: config.me,
    operators: config.operators.map(function (o) { return { id: o.id, name: o.name, presence: "offline" }; }),
    convs: new Map(),      // id -> console summary
    tab: "new",
    openId: null,
    detail: null,          // the open conversation's ID.json answer
    messages: new Map(),   // id -> Map(seq -> message) for conversations whose messages we hold
    pending: new Map(),    // cid -> {c, text, note, file, failed}
    requests: new Map(),   // r -> {resolve, reject}
    nextRequest: 1,
    ws: null,
    connected: false,
    everConnected: false,
    attempt: 0,
    readSent: new Map(),   // id -> seq we last marked read
    attachment: null,      // the uploaded file waiting to be sent
    typingSentAt: 0,
    typingTimer: 0,
    visitorTypingTimer: 0,
    templates: { open: false, slash: false, loading: false, items: [], active: 0, timer: 0, query: null },
    audio: null
  };

  // --- DOM helpers -------------------------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, name) { return String(values[name]); });
  }

  // Only http(s) and same-origin links become hrefs (no javascript: or data: URLs).
  function safeUrl(value) {
    if (typeof value !== "string" || !value) { return null; }
    try {
      var url = new URL(value, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(value, text) {
    var href = safeUrl(value);
    if (!href) { return el("span", null, text || value || ""); }
    var a = el("a", null, text || value);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  var lang = document.documentElement.lang || undefined;
  var timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  var dateFormat = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

  function when(iso) {
    if (!iso) { return ""; }
    var date = new Date(iso);
    if (isNaN(date.getTime())) { return ""; }
    var today = new Date().toDateString() === date.toDateString();
    return (today ? timeFormat : dateFormat).format(date);
  }

  function visitorName(conv) {
    var v = conv && conv.visitor;
    return (v && v.name) || T.visitor + " #" + conv.id;
  }

  function statusLabel(status) { return T["status_" + status] || status; }

  function randomId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function toast(text, kind) {
    var item = el("div", "chat-toast" + (kind ? " chat-toast-" + kind : ""), text);
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    $("chat-toasts").appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
  }

  // --- HTTP --------------------------------------------------------------------------------

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var message = body && body.error ? body.error.message : response.statusText;
          throw new Error(message);
        }
        return body;
      });
    });
  }

  // --- conversations and tabs --------------------------------------------------------------

  function inTab(conv, tab) {
    var mine = conv.assignee && conv.assignee.id === state.me.id;
    if (tab === "closed") { return conv.status === "resolved"; }
    if (conv.status === "resolved") { return false; }
    if (tab === "new") { return !conv.assignee; }
    if (tab === "mine") { return !!mine; }
    return tab === "all" && state.me.admin;
  }

  function upsert(conv) {
    if (!conv || conv.id === undefined) { return; }
    var known = state.convs.get(conv.id) || {};
    // A list fetched before a take, an assignment or a status change can answer after it:
    // an older snapshot never overwrites a newer one (updated_at is fixed-width ISO, UTC).
    if (known.updated_at && conv.updated_at && conv.updated_at < known.updated_at) { return; }
    state.convs.set(conv.id, Object.assign({}, known, conv));
  }

  function loadLists() {
    var tabs = ["new", "mine", "closed"];
    if (state.me.admin) { tabs.push("all"); }
    return Promise.all(tabs.map(function (tab) {
      return getJson(BASE + "/chats.json?tab=" + tab).then(function (body) {
        var list = Array.isArray(body) ? body : body.conversations || [];
        list.forEach(upsert);
      }, function (error) { toast(error.message, "error"); });
    })).then(renderList);
  }

  var listTimer = 0;
  function reloadListsSoon() {
    clearTimeout(listTimer);
    listTimer = setTimeout(loadLists, 300);
  }

  function renderList() {
    var all = Array.from(state.convs.values()).sort(function (a, b) {
      return String(b.updated_at || "").localeCompare(String(a.updated_at || ""));
    });
    document.querySelectorAll("[data-count]").forEach(function (node) {
      var tab = node.getAttribute("data-count");
      node.textContent = String(all.filter(function (c) { return inTab(c, tab); }).length);
    });
    var list = $("chat-list");
    clear(list);
    var shown = all.filter(function (c) { return inTab(c, state.tab); });
    shown.forEach(function (conv) {
      var item = el("li", "chat-item");
      item.setAttribute("role", "option");
      item.tabIndex = 0;
      item.dataset.id = String(conv.id);
      item.setAttribute("aria-selected", conv.id === state.openId ? "true" : "false");
      var top = el("div", "chat-item-top");
      top.appendChild(el("span", "chat-item-name", visitorName(conv)));
      top.appendChild(el("span", "chat-item-time", when(conv.updated_at)));
      var bottom = el("div", "chat-item-bottom");
      bottom.appendChild(el("span", "chat-item-text", conv.last_text || ""));
      if (conv.unread > 0 && conv.id !== state.openId) {
        bottom.appendChild(el("span", "chat-unread", conv.unread));
      }
      var meta = el("div", "chat-item-meta");
      meta.appendChild(el("span", "badge badge-" + conv.status, statusLabel(conv.status)));
      meta.appendChild(el("span", null, conv.assignee ? conv.assignee.name : T.unassigned));
      if (conv.channel) { meta.appendChild(el("span", null, conv.channel)); }
      item.appendChild(top);
      item.appendChild(bottom);
      item.appendChild(meta);
      list.appendChild(item);
    });
    $("chat-list-empty").hidden = shown.length > 0;
  }

  function selectTab(tab) {
    state.tab = tab;
    document.querySelectorAll(".chat-tab").forEach(function (button) {
      button.setAttribute("aria-selected", button.dataset.tab === tab ? "true" : "false");
    });
    renderList();
  }

  // --- the open conversation ---------------------------------------------------------------

  function openConversation(id) {
    state.openId = id;
    state.detail = null;
    renderSide();
    $("chat-typing").hidden = true;
    history.replaceState(null, "", "#c" + id);
    $("chat-placeholder").hidden = true;
    $("chat-open").hidden = false;
    if (!state.messages.has(id)) { state.messages.set(id, new Map()); }
    renderHead();
    renderMessages(true);
    renderList();
    return getJson(BASE + "/chats/" + id + ".json").then(function (body) {
      if (state.openId !== id) { return; }
      state.detail = body;
      upsert(body.conversation);
      var held = state.messages.get(id);
      (body.messages || []).forEach(function (m) { if (!held.has(m.seq)) { held.set(m.seq, m); } });
      renderHead();
      renderMessages(true);
      renderSide();
      renderList();
      markRead();
      $("chat-text").focus();
    }, function (error) { toast(error.message, "error"); });
  }

  function openConv() { return state.convs.get(state.openId); }

  function renderHead() {
    var conv = openConv();
    if (!conv) { return; }
    $("chat-title").textContent = visitorName(conv);
    var badge = $("chat-status-badge");
    badge.className = "badge badge-" + conv.status;
    badge.textContent = statusLabel(conv.status);
    $("chat-assignee").textContent = conv.assignee ? conv.assignee.name : T.unassigned;
    $("chat-take").hidden = !!conv.assignee || conv.status === "resolved";
    var status = $("chat-status");
    status.value = conv.status === "new" ? "open" : conv.status;
    var assign = $("chat-assign");
    if (assign) { assign.value = conv.assignee ? String(conv.assignee.id) : ""; }
  }

  function messageNode(m, pendingEntry) {
    var kind = m.note ? "note" : m.from;
    var mine = m.note || m.from === "operator";
    var item = el("li", "chat-msg chat-msg-" + kind + (mine ? " chat-msg-out" : ""));
    var head = el("div", "chat-msg-head");
    var author = m.author && m.author.name;
    if (!author) { author = m.from === "visitor" ? visitorName(openConv() || { id: m.c }) : m.from === "system" ? T.system : T.you; }
    head.appendChild(el("span", "chat-msg-author", author));
    if (m.note) { head.appendChild(el("span", "chat-note-label", T.note)); }
    head.appendChild(el("time", "chat-msg-time", when(m.at)));
    item.appendChild(head);
    if (m.text) { item.appendChild(el("div", "chat-msg-text", m.text)); }
    if (m.file) { item.appendChild(fileNode(m.file)); }
    if (pendingEntry) {
      item.classList.add(pendingEntry.failed ? "chat-msg-failed" : "chat-msg-pending");
      item.appendChild(el("div", "chat-msg-state", pendingEntry.failed ? T.failed : T.sending));
      item.dataset.cid = m.cid;
    } else if (mine && !m.note) {
      var read = state.detail && state.detail.visitorRead >= m.seq;
      item.appendChild(el("div", "chat-msg-state", read ? T.read : T.sent));
      item.dataset.seq = String(m.seq);
    } else {
      item.dataset.seq = String(m.seq);
    }
    return item;
  }

  function fileNode(file) {
    var box = el("div", "chat-file");
    var href = safeUrl(file.url);
    if (href && /^image\//.test(file.type || "")) {
      var img = el("img", "chat-file-image");
      img.src = href;
      img.alt = file.name || "";
      box.appendChild(img);
    }
    box.appendChild(link(file.url, file.name || "file"));
    if (file.size) { box.appendChild(el("span", "muted", " " + Math.ceil(file.size / 1024) + " KB")); }
    return box;
  }

  function renderMessages(forceBottom) {
    var list = $("chat-messages");
    var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    clear(list);
    var held = state.messages.get(state.openId) || new Map();
    var seqs = Array.from(held.keys()).sort(function (a, b) { return a - b; });
    seqs.forEach(function (seq) { list.appendChild(messageNode(held.get(seq), null)); });
    state.pending.forEach(function (entry, cid) {
      if (entry.c !== state.openId) { return; }
      list.appendChild(messageNode({ cid: cid, from: "operator", note: entry.note, text: entry.text, file: entry.fileInfo, at: entry.at }, entry));
    });
    if (!list.firstChild) { list.appendChild(el("li", "chat-empty", T.no_messages)); }
    if (forceBottom || nearBottom) { list.scrollTop = list.scrollHeight; }
  }

  function dl(node, pairs) {
    clear(node);
    pairs.forEach(function (pair) {
      node.appendChild(el("dt", null, pair[0]));
      var dd = el("dd");
      if (pair[1] instanceof Node) { dd.appendChild(pair[1]); } else { dd.textContent = pair[1] === "" || pair[1] === null || pair[1] === undefined ? "—" : String(pair[1]); }
      node.appendChild(dd);
    });
  }

  function setText(id, value) { $(id).textContent = value === "" || value === null || value === undefined ? "—" : String(value); }

  function renderSide() {
    var d = state.detail;
    var side = $("chat-side");
    $("chat-app").classList.toggle("chat-app-detail", !!d);
    if (!d) { side.hidden = true; return; }
    side.hidden = false;
    var v = d.visitor || {};
    $("side-name").textContent = v.name || visitorName(d.conversation);
    setText("side-email", v.email);
    setText("side-phone", v.phone);
    var params = d.params || {};
    var keys = Object.keys(params);
    dl($("side-params"), keys.map(function (k) { return [k, params[k]]; }));
    if (!keys.length) { $("side-params").appendChild(el("dd", "muted", T.none)); }
    var visit = d.visit || {};
    setText("side-visit-number", visit.number);
    setText("side-channel", visit.channel);
    setText("side-source", visit.source);
    setText("side-campaign", visit.campaign);
    var landing = $("side-landing");
    clear(landing);
    if (visit.landing_page) { landing.appendChild(link(visit.landing_page)); } else { landing.textContent = "—"; }
    setText("side-referrer", visit.referrer);
    var pages = $("side-pages");
    clear(pages);
    (d.pages || []).forEach(function (p) {
      var li = el("li");
      li.appendChild(link(p.url));
      li.appendChild(el("span", "muted", " " + when(p.at)));
      pages.appendChild(li);
    });
    if (!pages.firstChild) { pages.appendChild(el("li", "muted", T.none)); }
    var earlier = $("side-earlier");
    clear(earlier);
    (d.earlier || []).forEach(function (conv) {
      upsert(conv);
      var li = el("li");
      var button = el("button", "link", fill(T.earlier_chat, { id: conv.id }));
      button.type = "button";
      button.dataset.open = String(conv.id);
      li.appendChild(button);
      li.appendChild(el("span", "muted", " " + statusLabel(conv.status) + " · " + when(conv.updated_at)));
      if (conv.last_text) { li.appendChild(el("div", "chat-side-quote", conv.last_text)); }
      earlier.appendChild(li);
    });
    if (!earlier.firstChild) { earlier.appendChild(el("li", "muted", T.none)); }
    renderLeads();
  }

  function renderLeads() {
    var leads = $("side-leads");
    clear(leads);
    ((state.detail && state.detail.leads) || []).forEach(function (lead) {
      var li = el("li", null, fill(T.lead, { id: lead.id }));
      li.appendChild(el("span", "muted", " " + when(lead.created_at)));
      leads.appendChild(li);
    });
    if (!leads.firstChild) { leads.appendChild(el("li", "muted", T.none)); }
  }

  function lastSeq(id) {
    var held = state.messages.get(id);
    if (!held || !held.size) { return 0; }
    return Math.max.apply(null, Array.from(held.keys()));
  }

  // The seq up to which this page holds every message of the conversation: operators see every
  // seq (notes too), so a gap is a message still on its way from another server process, and a
  // reconnect asks from before it.
  function heldUpTo(id) {
    var held = state.messages.get(id);
    if (!held || !held.size) { return 0; }
    var seq = Math.min.apply(null, Array.from(held.keys()));
    while (held.has(seq + 1)) { seq += 1; }
    return seq;
  }

  function markRead() {
    var id = state.openId;
    if (id === null || document.hidden) { return; }
    var seq = lastSeq(id);
    if (!seq || (state.readSent.get(id) || 0) >= seq) { return; }
    if (send({ t: "read", c: id, seq: seq })) {
      state.readSent.set(id, seq);
      var conv = state.convs.get(id);
      if (conv && conv.unread) { conv.unread = 0; renderList(); }
    }
  }

  // --- the socket --------------------------------------------------------------------------

  function setConnection(text, ok) {
    var node = $("chat-connection");
    node.textContent = text;
    node.classList.toggle("chat-connection-ok", !!ok);
  }

  function send(frame) {
    if (!state.ws || !state.connected) { return false; }
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function request(frame) {
    return new Promise(function (resolve, reject) {
      var r = "r" + state.nextRequest++;
      frame.r = r;
      if (!send(frame)) { reject(new Error(T.reconnecting)); return; }
      state.requests.set(r, { resolve: resolve, reject: reject });
    });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(scheme + "//" + location.host + "/ws/console");
    state.ws = ws;
    setConnection(state.everConnected ? T.reconnecting : T.connecting, false);
    ws.addEventListener("open", function () {
      var since = {};
      state.messages.forEach(function (_held, id) { since[id] = heldUpTo(id); });
      ws.send(JSON.stringify({ t: "hello", site: config.site, since: since }));
    });
    ws.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    });
    ws.addEventListener("close", function (event) {
      if (state.ws !== ws) { return; }
      state.connected = false;
      state.requests.forEach(function (entry) { entry.reject(new Error(T.reconnecting)); });
      state.requests.clear();
      if (event.code === 4401) { location.reload(); return; }  // logged out: the page says so
      if (event.code === 4403 || event.code === 4404) { setConnection(T.refused, false); return; }
      setConnection(T.reconnecting, false);
      // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to 30 s.
      var delay = Math.min(30000, 500 * Math.pow(2, state.attempt)) * (0.75 + Math.random() * 0.5);
      state.attempt += 1;
      setTimeout(connect, delay);
    });
  }

  function welcome(frame) {
    var again = state.everConnected;
    state.connected = true;
    state.everConnected = true;
    state.attempt = 0;
    if (frame.me) { state.me = Object.assign({}, state.me, frame.me); }
    (frame.operators || []).forEach(function (o) {
      var known = state.operators.find(function (x) { return x.id === o.id; });
      if (known) { known.presence = o.presence; } else { state.operators.push({ id: o.id, name: o.name, presence: o.presence }); }
    });
    renderOperators();
    setConnection(T.online, true);
    send({ t: "presence", state: $("chat-presence").value });
    // Whatever was not acknowledged before the socket dropped goes again, with the same cid.
    state.pending.forEach(function (entry, cid) {
      if (!entry.failed) { send(sendFrame(cid, entry)); }
    });
    if (again) { reloadListsSoon(); }
  }

  function renderOperators() {
    var assign = $("chat-assign");
    if (!assign) { return; }
    Array.from(assign.options).forEach(function (option) {
      if (!option.value) { return; }
      var o = state.operators.find(function (x) { return String(x.id) === option.value; });
      if (!o) { return; }
      option.textContent = o.name + (o.presence && o.presence !== "online" ? " (" + (T[o.presence] || o.presence) + ")" : "");
    });
  }

  function storeMessage(m) {
    var held = state.messages.get(m.c);
    if (held && !held.has(m.seq)) { held.set(m.seq, m); }
    if (m.cid && state.pending.has(m.cid)) { state.pending.delete(m.cid); }
    var conv = state.convs.get(m.c);
    if (!conv) { reloadListsSoon(); return; }
    if (!m.note) { conv.last_text = m.text || (m.file && m.file.name) || conv.last_text; }
    conv.updated_at = m.at || conv.updated_at;
    conv.last_seq = Math.max(conv.last_seq || 0, m.seq);
    if (m.from === "visitor" && m.c !== state.openId) { conv.unread = (conv.unread || 0) + 1; }
  }

  function handle(frame) {
    switch (frame.t) {
      case "welcome": welcome(frame); break;
      case "msg":
        storeMessage(frame);
        if (frame.c === state.openId) {
          if (frame.from === "visitor") { $("chat-typing").hidden = true; }
          renderMessages(false);
          markRead();
        }
        renderList();
        break;
      case "ack": {
        var entry = state.pending.get(frame.cid);
        if (entry) {
          state.pending.delete(frame.cid);
          storeMessage({ c: frame.c, seq: frame.seq, id: frame.id, cid: frame.cid, from: "operator", note: entry.note, text: entry.text, file: entry.fileInfo, at: frame.at, author: { name: state.me.name } });
        }
        if (frame.c === state.openId) { renderMessages(true); }
        renderList();
        break;
      }
      case "conv":
        upsert(frame.conversation);
        if (frame.conversation && frame.conversation.id === state.openId) {
          renderHead();
          if (state.detail) { state.detail.conversation = openConv(); }
        }
        renderList();
        break;
      case "typing":
        if (frame.c === state.openId) {
          var typing = $("chat-typing");
          typing.hidden = !frame.on;
          clearTimeout(state.visitorTypingTimer);
          if (frame.on) { state.visitorTypingTimer = setTimeout(function () { typing.hidden = true; }, 6000); }
        }
        break;
      case "read":
        if (frame.c === state.openId && state.detail) {
          state.detail.visitorRead = Math.max(state.detail.visitorRead || 0, frame.seq);
          renderMessages(false);
        }
        break;
      case "notify":
        upsert(frame.conversation);
        renderList();
        if (frame.kind === "assigned") { assigned(frame.conversation); }
        break;
      case "presence": {
        var o = state.operators.find(function (x) { return x.id === frame.operator; });
        if (o) { o.presence = frame.state; renderOperators(); }
        break;
      }
      case "ok": settle(frame, true); break;
      case "error":
        if (frame.r && state.requests.has(frame.r)) { settle(frame, false); break; }
        if (frame.cid && state.pending.has(frame.cid)) {
          state.pending.get(frame.cid).failed = true;
          renderMessages(false);
        }
        toast(frame.message || frame.code, "error");
        break;
      default: break;
    }
  }

  function settle(frame, ok) {
    var entry = state.requests.get(frame.r);
    if (!entry) { return; }
    state.requests.delete(frame.r);
    if (ok) { entry.resolve(frame); } else { entry.reject(new Error(frame.message || frame.code)); }
  }

  // --- notifications -----------------------------------------------------------------------

  function beep() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) { return; }
      state.audio = state.audio || new Context();
      var ctx = state.audio;
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
    } catch (e) { /* sound is a nicety */ }
  }

  function assigned(conv) {
    var name = conv ? visitorName(conv) : "";
    toast(T.assigned_to_you + (name ? ": " + name : ""), "info");
    beep();
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        var note = new Notification(T.assigned_to_you, { body: name, tag: "vitrine-chat-" + (conv ? conv.id : "") });
        note.onclick = function () { window.focus(); if (conv) { openConversation(conv.id); } };
      } catch (e) { /* some platforms only allow notifications from a service worker */ }
    }
  }

  function setUpNotifications() {
    var button = $("chat-enable-notifications");
    if (!("Notification" in window) || Notification.permission !== "default") { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.hidden = Notification.permission === "default"; });
    });
  }

  // Browsers start audio only after a user gesture: unlock it on the first click.
  document.addEventListener("click", function unlock() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !state.audio) { try { state.audio = new Context(); } catch (e) { /* no audio */ } }
    document.removeEventListener("click", unlock);
  });

  // --- the composer ------------------------------------------------------------------------

  function mode() { return document.querySelector("input[name=mode]:checked").value; }

  function sendFrame(cid, entry) {
    var frame = { t: "send", c: entry.c, cid: cid, text: entry.text, note: entry.note };
    if (entry.file) { frame.file = entry.file; }
    return frame;
  }

  function submit() {
    var textarea = $("chat-text");
    var text = textarea.value.trim();
    if (state.openId === null || (!text && !state.attachment)) { return; }
    var cid = randomId();
    var entry = {
      c: state.openId,
      text: text,
      note: mode() === "note",
      file: state.attachment ? state.attachment.id : null,
      fileInfo: state.attachment,
      at: new Date().toISOString(),
      failed: false
    };
    state.pending.set(cid, entry);
    send(sendFrame(cid, entry));
    textarea.value = "";
    setAttachment(null);
    stopTyping();
    closeTemplates();
    renderMessages(true);
  }

  function stopTyping() {
    clearTimeout(state.typingTimer);
    if (state.typingSentAt) {
      send({ t: "typing", c: state.openId, on: false });
      state.typingSentAt = 0;
    }
  }

  function typed() {
    if (mode() !== "reply" || state.openId === null) { return; }
    var now = Date.now();
    if (now - state.typingSentAt > TYPING_EVERY) {
      if (send({ t: "typing", c: state.openId, on: true })) { state.typingSentAt = now; }
    }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(stopTyping, 3000);
  }

  function setAttachment(file) {
    state.attachment = file;
    $("chat-attachment").hidden = !file;
    $("chat-attachment-name").textContent = file ? file.name : "";
    $("chat-file").value = "";
  }

  function upload(file) {
    var body = new FormData();
    body.append("csrf_token", config.csrf);
    body.append("file", file, file.name);
    $("chat-send").disabled = true;
    return fetch(BASE + "/chats/files", { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok || !answer.file) {
            throw new Error(answer.error ? answer.error.message : T.upload_failed);
          }
          setAttachment(answer.file);
        });
      })
      .catch(function (error) { toast(error.message || T.upload_failed, "error"); setAttachment(null); })
      .then(function () { $("chat-send").disabled = false; });
  }

  // --- reply templates ---------------------------------------------------------------------

  function openTemplates(slash) {
    var t = state.templates;
    t.open = true;
    t.slash = slash;
    $("chat-templates").hidden = false;
    $("chat-templates-toggle").setAttribute("aria-expanded", "true");
  }

  function closeTemplates() {
    var t = state.templates;
    t.open = false;
    t.slash = false;
    t.query = null;
    t.loading = false;
    $("chat-templates").hidden = true;
    $("chat-templates-toggle").setAttribute("aria-expanded", "false");
  }

  function searchTemplates(query) {
    var t = state.templates;
    if (query === t.query) { return; }
    t.query = query;
    t.loading = true;
    clearTimeout(t.timer);
    t.timer = setTimeout(function () {
      getJson(BASE + "/chats/templates.json?q=" + encodeURIComponent(query)).then(function (body) {
        if (t.query !== query) { return; }
        t.loading = false;
        t.items = Array.isArray(body) ? body : body.templates || [];
        t.active = 0;
        renderTemplates();
      }, function (error) { t.loading = false; toast(error.message, "error"); });
    }, 150);
  }

  function renderTemplates() {
    var t = state.templates;
    var list = $("chat-templates-list");
    clear(list);
    t.items.forEach(function (item, index) {
      var li = el("li", "chat-template" + (index === t.active ? " chat-template-active" : ""));
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", index === t.active ? "true" : "false");
      li.dataset.index = String(index);
      li.appendChild(el("strong", null, item.name));
      li.appendChild(el("span", "chat-template-text", item.text));
      list.appendChild(li);
    });
    if (!t.items.length) { list.appendChild(el("li", "muted chat-template-none", T.no_templates)); }
  }

  function insertTemplate(index) {
    var t = state.templates;
    var item = t.items[index];
    if (!item) { return; }
    var textarea = $("chat-text");
    if (t.slash) {
      textarea.value = item.text;
    } else {
      var start = textarea.selectionStart;
      var end = textarea.selectionEnd;
      textarea.value = textarea.value.slice(0, start) + item.text + textarea.value.slice(end);
      textarea.selectionStart = textarea.selectionEnd = start + item.text.length;
    }
    closeTemplates();
    textarea.focus();
  }

  function templateKeys(event) {
    var t = state.templates;
    if (!t.open) { return false; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var step = event.key === "ArrowDown" ? 1 : -1;
      t.active = Math.max(0, Math.min(t.items.length - 1, t.active + step));
      renderTemplates();
      event.preventDefault();
      return true;
    }
    if (event.key === "Enter" && t.loading) {
      event.preventDefault();  // the list is about to change: do not insert a stale template
      return true;
    }
    if (event.key === "Enter" && t.items.length) {
      event.preventDefault();
      insertTemplate(t.active);
      return true;
    }
    if (event.key === "Escape") {
      closeTemplates();
      event.preventDefault();
      return true;
    }
    return false;
  }

  // --- wiring ------------------------------------------------------------------------------

  function wire() {
    document.querySelectorAll(".chat-tab").forEach(function (button) {
      button.addEventListener("click", function () { selectTab(button.dataset.tab); });
    });
    var list = $("chat-list");
    list.addEventListener("click", function (event) {
      var item = event.target.closest(".chat-item");
      if (item) { openConversation(Number(item.dataset.id)); }
    });
    list.addEventListener("keydown", function (event) {
      var item = event.target.closest(".chat-item");
      if (item && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        openConversation(Number(item.dataset.id));
      }
    });
    $("side-earlier").addEventListener("click", function (event) {
      var button = event.target.closest("[data-open]");
      if (button) { openConversation(Number(button.dataset.open)); }
    });
    $("chat-take").addEventListener("click", function () {
      var id = state.openId;
      request({ t: "take", c: id }).then(function (answer) {
        if (answer.conversation) { upsert(answer.conversation); }
        var conv = state.convs.get(id);
        if (conv && !conv.assignee) { conv.assignee = { id: state.me.id, name: state.me.name }; conv.status = "open"; }
        selectTab("mine");
        renderHead();
      }, function (error) { toast(error.message, "error"); });
    });
    $("chat-status").addEventListener("change", function (event) {
      request({ t: "status", c: state.openId, status: event.target.value }).then(function (answer) {
        if (answer.conversation) { upsert(answer.conversation); renderHead(); renderList(); }
      }, function (error) { toast(error.message, "error"); renderHead(); });
    });
    var assign = $("chat-assign");
    if (assign) {
      assign.addEventListener("change", function () {
        if (!assign.value) { renderHead(); return; }
        request({ t: "assign", c: state.openId, to: Number(assign.value) }).then(function (answer) {
          if (answer.conversation) { upsert(answer.conversation); renderHead(); renderList(); }
        }, function (error) { toast(error.message, "error"); renderHead(); });
      });
    }
    $("chat-lead").addEventListener("click", function () {
      request({ t: "lead", c: state.openId }).then(function (answer) {
        if (state.detail && answer.lead) {
          state.detail.leads = (state.detail.leads || []).concat([answer.lead]);
          renderLeads();
        }
        toast(T.lead_created, "info");
      }, function (error) { toast(error.message, "error"); });
    });
    $("chat-presence").addEventListener("change", function (event) {
      send({ t: "presence", state: event.target.value });
    });

    var form = $("chat-composer");
    var textarea = $("chat-text");
    form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    document.querySelectorAll("input[name=mode]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        form.classList.toggle("chat-composer-note", mode() === "note");
        if (mode() === "note") { stopTyping(); }
      });
    });
    textarea.addEventListener("keydown", function (event) {
      if (templateKeys(event)) { return; }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    textarea.addEventListener("input", function () {
      var slash = /^\/([^\n]*)$/.exec(textarea.value);
      if (slash) {
        if (!state.templates.open || !state.templates.slash) { openTemplates(true); }
        searchTemplates(slash[1].trim());
      } else if (state.templates.slash) {
        closeTemplates();
      }
      if (textarea.value) { typed(); }
    });
    $("chat-templates-toggle").addEventListener("click", function () {
      if (state.templates.open) { closeTemplates(); return; }
      openTemplates(false);
      var search = $("chat-templates-search");
      search.value = "";
      searchTemplates("");
      search.focus();
    });
    var search = $("chat-templates-search");
    search.addEventListener("input", function () { searchTemplates(search.value.trim()); });
    search.addEventListener("keydown", templateKeys);
    $("chat-templates-list").addEventListener("mousedown", function (event) {
      // mousedown, so the composer keeps its caret position
      var item = event.target.closest(".chat-template[data-index]");
      if (item) { event.preventDefault(); insertTemplate(Number(item.dataset.index)); }
    });
    $("chat-file").addEventListener("change", function (event) {
      var file = event.target.files && event.target.files[0];
      if (file) { upload(file); }
    });
    $("chat-attachment-remove").addEventListener("click", function () { setAttachment(null); });
    document.addEventListener("visibilitychange", markRead);
    window.addEventListener("focus", markRead);
    setInterval(function () { send({ t: "ping" }); }, PING_EVERY);
  }

  wire();
  setUpNotifications();
  renderList();
  loadLists().then(function () {
    var wanted = /^#c(\d+)$/.exec(location.hash);
    if (wanted) { openConversation(Number(wanted[1])); }
  });
  connect();
})();
