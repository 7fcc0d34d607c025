// Vitrine console: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Fallback for plain-http hosts, where the Clipboard API is missing.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  function flashLabel(button, label) {
    if (!button.dataset.label) { button.dataset.label = button.textContent; }
    button.textContent = label;
    clearTimeout(button._vitrineTimer);
    button._vitrineTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) { return; }
    var copied = button.getAttribute("data-copied") || "Copied";
    copyText(source.textContent).then(
      function () { flashLabel(button, copied); },
      function () {
        // Could not copy: select the text so the user can press Ctrl+C.
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
    );
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // "Go back" on error pages (a javascript: link would break the Content-Security-Policy).
  document.addEventListener("click", function (event) {
    var back = event.target.closest("a[data-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // The site's sections scroll sideways on narrow screens: bring the current one into view
  // (centred), without moving the page itself. In the wide sidebar nothing scrolls.
  function showCurrentSection() {
    var nav = document.querySelector("nav.tabs");
    var current = nav && nav.querySelector("a[aria-current='page']");
    if (!current || nav.scrollWidth <= nav.clientWidth) { return; }
    var box = nav.getBoundingClientRect();
    var link = current.getBoundingClientRect();
    nav.scrollLeft += link.left - box.left - (box.width - link.width) / 2;
  }
  showCurrentSection();
  window.addEventListener("resize", showCurrentSection);

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) {
      select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    }
  });
})();
