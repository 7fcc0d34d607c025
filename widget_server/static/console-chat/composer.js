// The composer: a reply or a private note, with an optional uploaded file; "typing" frames while
// a reply is being written. A message waits in state.pending under its cid until the server acks it.

import { $, toast } from "./dom.js";
import { send, sendFrame } from "./socket.js";
import { BASE, config, state, T } from "./state.js";
import { closeTemplates, openTemplates, searchTemplates, templateKeys } from "./templates.js";
import { renderMessages } from "./thread.js";

const TYPING_EVERY = 2000;

function randomId() {
  var bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
}

function mode() { return document.querySelector("input[name=mode]:checked").value; }

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

export function wireComposer() {
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
  $("chat-file").addEventListener("change", function (event) {
    var file = event.target.files && event.target.files[0];
    if (file) { upload(file); }
  });
  $("chat-attachment-remove").addEventListener("click", function () { setAttachment(null); });
}
