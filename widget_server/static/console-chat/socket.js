// The console socket (/ws/console): connecting and reconnecting, the frames it sends (requests
// answered by "ok" / "error" with the same r) and what every frame it receives changes.

import { reloadListsSoon, renderList, upsert } from "./conversations.js";
import { $, toast } from "./dom.js";
import { assigned } from "./notifications.js";
import { config, state, T } from "./state.js";
import { heldUpTo, markRead, openConv, renderHead, renderMessages } from "./thread.js";

const PING_EVERY = 25000;

function setConnection(text, ok) {
  var node = $("chat-connection");
  node.textContent = text;
  node.classList.toggle("chat-connection-ok", !!ok);
}

export function send(frame) {
  if (!state.ws || !state.connected) { return false; }
  state.ws.send(JSON.stringify(frame));
  return true;
}

export function request(frame) {
  return new Promise(function (resolve, reject) {
    var r = "r" + state.nextRequest++;
    frame.r = r;
    if (!send(frame)) { reject(new Error(T.reconnecting)); return; }
    state.requests.set(r, { resolve: resolve, reject: reject });
  });
}

export function connect() {
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

export function sendFrame(cid, entry) {
  var frame = { t: "send", c: entry.c, cid: cid, text: entry.text, note: entry.note };
  if (entry.file) { frame.file = entry.file; }
  return frame;
}

// Your status (online / away) goes to the other operators; a ping keeps the socket open.
export function wireSocket() {
  $("chat-presence").addEventListener("change", function (event) {
    send({ t: "presence", state: event.target.value });
  });
  setInterval(function () { send({ t: "ping" }); }, PING_EVERY);
}
