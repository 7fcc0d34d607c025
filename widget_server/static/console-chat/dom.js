// The chat console's DOM helpers. Every string that comes from a visitor, a page or the server
// is put into the page with textContent / DOM APIs (el, link), never parsed as HTML.

export function $(id) { return document.getElementById(id); }

export function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = String(text); }
  return node;
}

export function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

export function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, function (_m, name) { return String(values[name]); });
}

// Only http(s) and same-origin links become hrefs (no javascript: or data: URLs).
export function safeUrl(value) {
  if (typeof value !== "string" || !value) { return null; }
  try {
    var url = new URL(value, location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

export function link(value, text) {
  var href = safeUrl(value);
  if (!href) { return el("span", null, text || value || ""); }
  var a = el("a", null, text || value);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

const lang = document.documentElement.lang || undefined;
const timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
const dateFormat = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

export function when(iso) {
  if (!iso) { return ""; }
  var date = new Date(iso);
  if (isNaN(date.getTime())) { return ""; }
  var today = new Date().toDateString() === date.toDateString();
  return (today ? timeFormat : dateFormat).format(date);
}

export function toast(text, kind) {
  var item = el("div", "chat-toast" + (kind ? " chat-toast-" + kind : ""), text);
  item.setAttribute("role", kind === "error" ? "alert" : "status");
  $("chat-toasts").appendChild(item);
  setTimeout(function () { item.remove(); }, 8000);
}
