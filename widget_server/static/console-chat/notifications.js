// Telling an operator a conversation was assigned to them: a toast, a beep and, if they allowed
// it, a browser notification.

import { visitorName } from "./conversations.js";
import { $, toast } from "./dom.js";
import { state, T } from "./state.js";
import { openConversation } from "./thread.js";

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

export function assigned(conv) {
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

export function setUpNotifications() {
  var button = $("chat-enable-notifications");
  if (!("Notification" in window) || Notification.permission !== "default") { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    Notification.requestPermission().then(function () { button.hidden = Notification.permission === "default"; });
  });
}

// Browsers start audio only after a user gesture: unlock it on the first click.
export function unlockAudioOnFirstClick() {
  document.addEventListener("click", function unlock() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !state.audio) { try { state.audio = new Context(); } catch (e) { /* no audio */ } }
    document.removeEventListener("click", unlock);
  });
}
