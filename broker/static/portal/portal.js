// Tessera developer portal: progressive enhancement only. Every page works without this
// script; it adds the copy buttons, the charts' pointer readout, and submits the range
// selector on change.
(function () {
  "use strict";
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select and copy"; }
      );
    });
  });
  document.querySelectorAll("figure.chart-box").forEach(function (figure) {
    var readout = figure.querySelector(".readout");
    figure.querySelectorAll("rect.col").forEach(function (column) {
      column.addEventListener("mouseenter", function () {
        column.classList.add("on");
        if (readout) {
          readout.textContent = column.getAttribute("data-tip");
        }
      });
      column.addEventListener("mouseleave", function () {
        column.classList.remove("on");
      });
    });
  });
  document.querySelectorAll("form.range select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
