/* Vitrine buy buttons: a module the counter loads (its URL is the counter config's `y`) only when
 * the page has a [data-vitrine-buy] element or calls vitrine('buy', …). The contract with the
 * server is docs/counter-protocol.md ("Buy buttons"). Budget: 1,000 bytes brotli-11
 * (tests/js/test_build.py).
 *
 * <div data-vitrine-buy="SLUG"></div>, empty: a button in an open Shadow DOM root (the page's
 * CSS cannot break it; restyle it with ::part(button) or the --vitrine-buy colour), disabled until
 * BASE/pay/KEY/SLUG/offer.json answers, then "Buy NAME · PRICE" (Buy/Acheter/Купить by the page's
 * <html lang>, the price by Intl.NumberFormat in that language).
 * The element has content: that content is the label, styled by the owner, and a link in it is
 * the fallback for pages without the counter; once the offer is known, a click in the element
 * starts checkout instead.
 * Either way the element gets a data-vitrine-ready attribute once the offer is known (a page can
 * hide a fallback next to it with `[data-vitrine-ready] + .fallback {display: none}`). An offer
 * that cannot be loaded (unknown, inactive, customers only, offline) leaves the button disabled,
 * or the owner's content doing what it does without Vitrine, and no attribute; never a script
 * error.
 *
 * Checkout: the top window goes to BASE/pay/KEY/SLUG?visit=N (a plain GET; the server opens a
 * guest order for the visit and redirects to the payment page). When the visit number is not
 * known yet it is waited for, up to a second (never under DNT or for the owner: then none).
 *
 * Commands (the counter keeps them in vitrine.p until this loads, then emits them as 'cmd'):
 *   vitrine('buy', slug)   start checkout of that offer
 *   vitrine('buy')         look again for [data-vitrine-buy] elements (pages that add them later)
 */

const W = window;
const D = document;
const V = W.vitrine;
const me = D.currentScript;

if (V && V.l && me && !V.b) {
  V.b = 1;
  const link = (slug) => `${me.src.split("/static/dist/")[0]}/pay/${V.k}/${encodeURIComponent(slug)}`;
  const lang = D.documentElement.lang || navigator.language;
  const word = { fr: "Acheter", ru: "Купить" }[lang.slice(0, 2).toLowerCase()] || "Buy";
  const offers = {};
  const offer = (slug) =>
    (offers[slug] = offers[slug] || fetch(link(slug) + "/offer.json").then((r) => (r.ok ? r.json() : Promise.reject())));
  const price = (o) => {
    const format = (tag) => new Intl.NumberFormat(tag, { style: "currency", currency: o.currency });
    let f;
    try {
      f = format(lang);
    } catch (e) {
      f = format(); // a lang attribute that is not a language tag
    }
    return f.format(o.amount / 10 ** f.resolvedOptions().maximumFractionDigits);
  };

  const checkout = (slug) => {
    let gone;
    const go = () => {
      if (!gone) {
        gone = 1;
        const url = link(slug) + (V.visit ? "?visit=" + V.visit : "");
        try {
          top.location.href = url;
        } catch (e) {
          location.href = url; // a frame that may not lead its top window
        }
      }
    };
    V("ready", go);
    setTimeout(go, 1e3);
  };

  const mount = (el) => {
    const slug = el.getAttribute("data-vitrine-buy");
    let button;
    if (!el.vb && slug) {
      el.vb = 1;
      if (!el.childElementCount && !el.textContent.trim()) {
        const root = el.attachShadow({ mode: "open" });
        root.innerHTML =
          "<style>button{all:unset;box-sizing:border-box;display:inline-block;padding:.7em 1.3em;border-radius:.5em;background:var(--vitrine-buy,#1f6feb);color:#fff;font:600 15px/1.25 system-ui,sans-serif;text-align:center;cursor:pointer}button:disabled{opacity:.5;cursor:default}button:focus-visible{outline:2px solid;outline-offset:2px}</style><button part=button disabled></button>";
        button = root.lastChild;
        button.textContent = word;
      }
      offer(slug)
        .then((o) => {
          if (button) {
            button.textContent = `${word} ${o.name} · ${price(o)}`;
            button.disabled = false;
          }
          el.setAttribute("data-vitrine-ready", "");
          (button || el).addEventListener("click", (e) => {
            e.preventDefault();
            checkout(slug);
          });
        })
        .catch(() => {});
    }
  };
  const scan = () => D.querySelectorAll("[data-vitrine-buy]").forEach((el) => {
    try {
      mount(el);
    } catch (e) {} // an element that cannot hold a shadow root (<a>, <button>, …)
  });

  const command = ([name, slug]) => name == "buy" && (slug ? checkout("" + slug) : scan());
  for (const call of V.p) command(call);
  V("on", "cmd", command);
  scan();
  addEventListener("DOMContentLoaded", scan);
}
