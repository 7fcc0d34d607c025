// What the chat console page holds, shared by every module: the page's configuration (set once
// by main.js from the #chat-config block) and the state the modules read and change.

export let config = null;
export let T = null;     // the interface texts, in the reader's language
export let BASE = "";    // the console routes of this site

export const state = {
  me: null,
  operators: [],
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

export function configure(value) {
  config = value;
  T = config.texts;
  BASE = "/console/sites/" + encodeURIComponent(config.site);
  state.me = config.me;
  state.operators = config.operators.map(function (o) { return { id: o.id, name: o.name, presence: "offline" }; });
}
