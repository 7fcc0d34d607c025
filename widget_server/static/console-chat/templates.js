// Reply templates: picked from the list the button opens, or searched by typing "/" and a few
// words at the start of an empty composer.

import { $, clear, el, toast } from "./dom.js";
import { getJson } from "./http.js";
import { BASE, state, T } from "./state.js";

export function openTemplates(slash) {
  var t = state.templates;
  t.open = true;
  t.slash = slash;
  $("chat-templates").hidden = false;
  $("chat-templates-toggle").setAttribute("aria-expanded", "true");
}

export function closeTemplates() {
  var t = state.templates;
  t.open = false;
  t.slash = false;
  t.query = null;
  t.loading = false;
  $("chat-templates").hidden = true;
  $("chat-templates-toggle").setAttribute("aria-expanded", "false");
}

export function searchTemplates(query) {
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

export function templateKeys(event) {
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

export function wireTemplates() {
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
}
