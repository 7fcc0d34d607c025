// The open conversation: its head (status, assignee), its messages (held by seq, plus the ones
// still being sent), the actions on it and the read marks sent for it.

import { renderList, selectTab, statusLabel, upsert, visitorName } from "./conversations.js";
import { $, clear, el, link, safeUrl, toast, when } from "./dom.js";
import { getJson } from "./http.js";
import { renderLeads, renderSide } from "./side.js";
import { request, send } from "./socket.js";
import { BASE, state, T } from "./state.js";

export function openConversation(id) {
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

export function openConv() { return state.convs.get(state.openId); }

export function renderHead() {
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

export function renderMessages(forceBottom) {
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

function lastSeq(id) {
  var held = state.messages.get(id);
  if (!held || !held.size) { return 0; }
  return Math.max.apply(null, Array.from(held.keys()));
}

// The seq up to which this page holds every message of the conversation: operators see every
// seq (notes too), so a gap is a message still on its way from another server process, and a
// reconnect asks from before it.
export function heldUpTo(id) {
  var held = state.messages.get(id);
  if (!held || !held.size) { return 0; }
  var seq = Math.min.apply(null, Array.from(held.keys()));
  while (held.has(seq + 1)) { seq += 1; }
  return seq;
}

export function markRead() {
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

export function wireThread() {
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
  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("focus", markRead);
}
