/* Rectify pages: small progressive enhancements. Every form works without this file. */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  /* --- evidence picker: drag and drop onto the zone, previews of what was chosen --- */
  function setupDropzone(zone) {
    var inputs = zone.querySelectorAll("input[data-evidence-input]");
    var list = zone.querySelector("[data-file-list]");
    var filesInput = zone.querySelector("input[data-evidence-input]:not([capture])") || inputs[0];
    if (!filesInput) return;

    var chosen = zone.querySelector("[data-chosen]");

    function render() {
      if (!list) return;
      while (list.firstChild) list.removeChild(list.firstChild);
      var n = 0;
      inputs.forEach(function (input) { n += (input.files || []).length; });
      if (chosen) {
        chosen.hidden = n === 0;
        chosen.textContent = (chosen.getAttribute("data-text-chosen") || "").replace("{n}", n);
      }
      inputs.forEach(function (input) {
        Array.prototype.forEach.call(input.files || [], function (file) {
          var li = document.createElement("li");
          if (file.type && file.type.indexOf("image/") === 0 && window.FileReader && file.size < 15 * 1024 * 1024) {
            // a data: URL (the Content-Security-Policy allows data: images, not blob:)
            var img = document.createElement("img");
            img.alt = file.name;
            var reader = new FileReader();
            reader.onload = function () { img.src = reader.result; };
            reader.readAsDataURL(file);
            li.appendChild(img);
          } else {
            var icon = document.createElement("span");
            icon.className = "file-icon";
            icon.textContent = (file.name.split(".").pop() || "").toUpperCase().slice(0, 4);
            li.appendChild(icon);
          }
          var name = document.createElement("span");
          name.textContent = file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)";
          li.appendChild(name);
          list.appendChild(li);
        });
      });
    }

    inputs.forEach(function (input) { input.addEventListener("change", render); });

    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      var dropped = e.dataTransfer && e.dataTransfer.files;
      if (!dropped || !dropped.length || typeof DataTransfer === "undefined") return;
      // keep what was already chosen and add the dropped files
      var dt = new DataTransfer();
      Array.prototype.forEach.call(filesInput.files || [], function (f) { dt.items.add(f); });
      Array.prototype.forEach.call(dropped, function (f) { dt.items.add(f); });
      filesInput.files = dt.files;
      render();
    });
  }

  /* --- "select all" for bulk approval --- */
  function setupCheckAll(box) {
    var name = box.getAttribute("data-check-all");
    box.addEventListener("change", function () {
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (c) {
        c.checked = box.checked;
      });
    });
  }

  /* --- export progress: poll the status until the file is ready --- */
  function setupExport(card) {
    var url = card.getAttribute("data-status-url");
    var bar = card.querySelector("[data-export-progress]");
    var count = card.querySelector("[data-export-count]");
    var message = card.querySelector("[data-export-message]");
    var download = card.querySelector("[data-export-download]");
    var refresh = card.querySelector("[data-export-refresh]");
    var texts = {
      done: card.getAttribute("data-text-done") || "",
      failed: card.getAttribute("data-text-failed") || ""
    };

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (s) {
          // total 0: the size is unknown until the end, the bar stays indeterminate
          if (bar && s.total > 0) { bar.max = s.total; bar.value = s.done; bar.textContent = s.done + " / " + s.total; }
          if (count) count.textContent = s.done;
          if (s.state === "done") {
            if (bar) { if (!(s.total > 0)) bar.max = 1; bar.value = bar.max; }
            if (message && texts.done) message.textContent = texts.done;
            if (download) download.hidden = false;
            if (refresh) refresh.hidden = true;
          } else if (s.state === "failed") {
            if (message) message.textContent = texts.failed + (s.error || "");
            if (refresh) refresh.hidden = true;
          } else {
            setTimeout(poll, 400);
          }
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  /* --- open the action named in the address (#act-submit) --- */
  function openFromHash() {
    var id = (location.hash || "").slice(1);
    if (!id) return;
    var el = document.getElementById(id);
    if (el && el.tagName === "DETAILS") {
      el.open = true;
      el.scrollIntoView({ block: "start" });
    }
  }

  /* --- a form that asks before it is sent (data-confirm-text) --- */
  function setupConfirm(form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm-text"))) e.preventDefault();
    });
  }

  /* --- documents and imports: a print button; a page waiting for a worker reloads when it is done --- */
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
    document.querySelectorAll("form[data-confirm-text]").forEach(setupConfirm);
    document.querySelectorAll("[data-dropzone]").forEach(setupDropzone);
    document.querySelectorAll("[data-check-all]").forEach(setupCheckAll);
    document.querySelectorAll("[data-export-job]").forEach(setupExport);
    openFromHash();
    window.addEventListener("hashchange", openFromHash);
  });
})();
