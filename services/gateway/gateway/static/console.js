// The console's only script of its own (the Content-Security-Policy allows no inline script):
// behaviour is declared by data attributes, whose values are text, never code.
"use strict";

// <form data-confirm="Send x@example.com a password reset email?">: asks before submitting.
document.addEventListener("submit", function (event) {
  var form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// <select data-submit-on-change>: choosing submits its form.
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-submit-on-change]") && event.target.form) {
    event.target.form.requestSubmit ? event.target.form.requestSubmit() : event.target.form.submit();
  }
});

// <a data-back>: back to the page before.
document.addEventListener("click", function (event) {
  var link = event.target.closest("a[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

// Record tabs (#record-tabs a, loaded by htmx): the one just loaded is marked as here.
document.addEventListener("htmx:afterRequest", function (event) {
  var tab = event.detail && event.detail.elt;
  if (!tab || !tab.closest || !tab.closest("#record-tabs") || tab.tagName !== "A") { return; }
  document.querySelectorAll("#record-tabs a").forEach(function (a) { a.classList.remove("here"); });
  tab.classList.add("here");
});

// <details class="menu">: a click elsewhere or Escape closes it, as a menu does.
document.addEventListener("click", function (event) {
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    if (!menu.contains(event.target)) { menu.open = false; }
  });
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") { return; }
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    menu.open = false;
    menu.querySelector("summary").focus();
  });
});
