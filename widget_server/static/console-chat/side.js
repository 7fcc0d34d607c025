// The side panel of the open conversation: who the visitor is, the visit that brought them,
// the pages they saw, their earlier conversations and the leads made from this one.

import { statusLabel, upsert, visitorName } from "./conversations.js";
import { $, clear, el, fill, link, when } from "./dom.js";
import { state, T } from "./state.js";

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

export function renderSide() {
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

export function renderLeads() {
  var leads = $("side-leads");
  clear(leads);
  ((state.detail && state.detail.leads) || []).forEach(function (lead) {
    var li = el("li", null, fill(T.lead, { id: lead.id }));
    li.appendChild(el("span", "muted", " " + when(lead.created_at)));
    leads.appendChild(li);
  });
  if (!leads.firstChild) { leads.appendChild(el("li", "muted", T.none)); }
}
