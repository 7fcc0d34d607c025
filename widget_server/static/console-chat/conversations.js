// The conversation list: console summaries by id, the tabs that filter them, and the list on
// the left.

import { $, clear, el, toast, when } from "./dom.js";
import { getJson } from "./http.js";
import { BASE, state, T } from "./state.js";

export function visitorName(conv) {
  var v = conv && conv.visitor;
  return (v && v.name) || T.visitor + " #" + conv.id;
}

export function statusLabel(status) { return T["status_" + status] || status; }

function inTab(conv, tab) {
  var mine = conv.assignee && conv.assignee.id === state.me.id;
  if (tab === "closed") { return conv.status === "resolved"; }
  if (conv.status === "resolved") { return false; }
  if (tab === "new") { return !conv.assignee; }
  if (tab === "mine") { return !!mine; }
  return tab === "all" && state.me.admin;
}

export function upsert(conv) {
  if (!conv || conv.id === undefined) { return; }
  var known = state.convs.get(conv.id) || {};
  // A list fetched before a take, an assignment or a status change can answer after it:
  // an older snapshot never overwrites a newer one (updated_at is fixed-width ISO, UTC).
  if (known.updated_at && conv.updated_at && conv.updated_at < known.updated_at) { return; }
  state.convs.set(conv.id, Object.assign({}, known, conv));
}

export function loadLists() {
  var tabs = ["new", "mine", "closed"];
  if (state.me.admin) { tabs.push("all"); }
  return Promise.all(tabs.map(function (tab) {
    return getJson(BASE + "/chats.json?tab=" + tab).then(function (body) {
      var list = Array.isArray(body) ? body : body.conversations || [];
      list.forEach(upsert);
    }, function (error) { toast(error.message, "error"); });
  })).then(renderList);
}

let listTimer = 0;
export function reloadListsSoon() {
  clearTimeout(listTimer);
  listTimer = setTimeout(loadLists, 300);
}

export function renderList() {
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

export function selectTab(tab) {
  state.tab = tab;
  document.querySelectorAll(".chat-tab").forEach(function (button) {
    button.setAttribute("aria-selected", button.dataset.tab === tab ? "true" : "false");
  });
  renderList();
}

export function wireTabs() {
  document.querySelectorAll(".chat-tab").forEach(function (button) {
    button.addEventListener("click", function () { selectTab(button.dataset.tab); });
  });
}
