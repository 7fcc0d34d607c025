/* Vitrine chat panel, its forms (bundled with chat-panel.js and chat-ui.js into
 * dist/chat-panel.js): the views the visitor fills in rather than chats in. The pre-chat fields
 * above the composer; after ending a chat, the rating (the socket's `rate` frame) and the
 * transcript request (POST /chat/KEY/transcript); outside working hours, the leave-a-message
 * form (POST /chat/KEY/offline) and its thanks. See docs/chat-protocol.md.
 *
 * chat-panel.js draws them into the panel's body (`body`) and says where each one leads (`next`).
 */

import { T, V, button, fail, h, post, x } from "./chat-ui.js";

const field = (name, type, required) =>
  h("input", { name, type, required, placeholder: T(name) + (required ? "" : ` (${T("optional")})`) });

// The pre-chat form: before a conversation starts (`ask`), the fields the site asks for and the
// visitor has not given yet; `box` is drawn again only when they change.
export const askContact = (box, ask) => {
  const s = x.s;
  const need = ["name", "email", "phone"].filter((k) => ask && (s.widget.prechat[k] || "off") != "off" && !s.visitor[k]);
  if (box.k != "" + need) {
    box.k = "" + need;
    box.textContent = "";
    for (const k of need) box.append(field(k, k == "email" ? "email" : k == "phone" ? "tel" : "text", s.widget.prechat[k] == "required"));
    if (need.length) box.prepend(h("div", { textContent: T("prechat_title") }));
  }
};
// What the visitor wrote in the pre-chat form ({} when it asks nothing).
export const contact = (box) => {
  const given = {};
  for (const input of box.querySelectorAll("input")) given[input.name] = input.value.trim();
  return given;
};

// Stars and a comment for the conversation `c` the visitor has just ended.
export const rating = (body, c, next) => {
  let score = 0;
  const stars = h("div", { className: "st" });
  for (let n = 1; n < 6; n++) {
    const star = button("★", () => {
      score = n;
      for (const b of stars.children) b.setAttribute("aria-pressed", b == star);
    });
    star.setAttribute("aria-label", n);
    stars.append(star);
  }
  const comment = h("textarea", { rows: 3, placeholder: T("rate_comment") });
  body.append(
    h("b", { textContent: T("rate_title") }),
    stars,
    comment,
    button(T("rate_send"), () => {
      if (score) x.send({ t: "rate", c, score, comment: comment.value.trim() });
      next();
    }),
  );
};

// The conversation `c` by e-mail; `next` starts a new chat.
export const transcript = (body, c, next) => {
  const s = x.s;
  const email = h("input", { type: "email", placeholder: T("email"), value: s.visitor.email || "" });
  const box = h("div", {}, h("b", { textContent: T("transcript_label") }), email);
  box.append(
    button(T("transcript_send"), () =>
      post("transcript", { token: s.token, c, email: email.value.trim() })
        .then(() => {
          fail();
          box.textContent = T("transcript_sent");
        })
        .catch(() => {}),
    ),
  );
  body.append(h("div", { className: "m s", textContent: T("rate_thanks") }), box, button(T("new_chat"), next));
};

// The leave-a-message form (outside working hours); `next` once the server has it. Refused by
// its rate limit (429), the error bar says in how many seconds to try again.
export const offline = (body, next) => {
  const s = x.s;
  const fields = ["name", "email", "phone"].map((k) => field(k, k == "email" ? "email" : "text", 0));
  const message = h("textarea", { rows: 4, required: true, placeholder: T("message") });
  const form = h("form", {}, h("b", { textContent: T("offline_title") }), T("offline_text"), ...fields, message, h("button", { textContent: T("offline_send") }));
  form.onsubmit = (e) => {
    e.preventDefault();
    const data = { i: V.i, v: V.visit, token: s.token, text: message.value.trim(), u: location.href, params: x.p };
    for (const f of fields) data[f.name] = f.value.trim();
    post("offline", data, 0, 1)
      .then(() => {
        fail();
        next();
      })
      .catch(() => {});
  };
  body.append(form);
};
export const offlineThanks = (body) => body.append(h("div", { className: "m s", textContent: T("offline_thanks") }));
