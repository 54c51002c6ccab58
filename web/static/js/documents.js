/* Documents and imports: a print button, and pages that wait for a worker reload when it is done.
   Every page works without this file (the print dialog is the browser's own; "刷新进度" reloads). */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  function setupPrint(button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }

  /* an import checked or run by a worker: poll its status, reload the page once it has finished */
  function setupImportJob(card) {
    var url = card.getAttribute("data-status-url");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (s) {
          if (s.state === "done" || s.state === "failed") window.location.reload();
          else setTimeout(poll, 500);
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  onReady(function () {
    document.querySelectorAll("[data-print]").forEach(setupPrint);
    document.querySelectorAll("[data-import-job]").forEach(setupImportJob);
  });
})();
