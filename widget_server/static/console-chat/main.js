// Vitrine console: the live chat page. Talks to /ws/console and the console JSON routes as
// docs/chat-protocol.md describes. Every string that comes from a visitor, a page or the server
// is put into the page with textContent / DOM APIs, never parsed as HTML.
//
// Native ES modules, no build step: this entry reads the page's #chat-config block, wires the
// page and connects. The state the modules share lives in state.js.

import { wireComposer } from "./composer.js";
import { loadLists, renderList, wireTabs } from "./conversations.js";
import { setUpNotifications, unlockAudioOnFirstClick } from "./notifications.js";
import { connect, wireSocket } from "./socket.js";
import { configure } from "./state.js";
import { wireTemplates } from "./templates.js";
import { openConversation, wireThread } from "./thread.js";

function start(config) {
  configure(config);
  unlockAudioOnFirstClick();
  wireTabs();
  wireThread();
  wireSocket();
  wireComposer();
  wireTemplates();
  setUpNotifications();
  renderList();
  loadLists().then(function () {
    var wanted = /^#c(\d+)$/.exec(location.hash);
    if (wanted) { openConversation(Number(wanted[1])); }
  });
  connect();
}

const configNode = document.getElementById("chat-config");
if (configNode) { start(JSON.parse(configNode.textContent)); }
