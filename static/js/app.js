// Glue only: drag-and-drop lists, errors shown where the person acted, small form helpers.
(function () {
  "use strict";

  // ---- drag-and-drop: a sortable list inside a <form hx-trigger="end"> -------------------
  function initSortables(root) {
    if (!window.Sortable) return;
    root.querySelectorAll("[data-sortable]").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      window.Sortable.create(list, {
        handle: ".drag-handle",
        animation: 150,
        forceFallback: true, // the same pointer-based drag on desktops and touch screens
        fallbackOnBody: true,
        ghostClass: "is-ghost",
        chosenClass: "is-chosen",
        dragClass: "is-dragging",
      });
    });
  }

  // ---- errors in place --------------------------------------------------------------------
  // The server marks a generic error answer (403, 404, 409, 500…) with this header and asks
  // htmx not to swap it; we show it inside the nearest region that hosts errors.
  var ERROR_HEADER = "X-Matterflow-Error";

  function errorHost(element) {
    return (element && element.closest && element.closest("[data-error-host]")) ||
      document.getElementById("page-alerts");
  }

  function clearErrors(host) {
    if (!host) return;
    host.querySelectorAll(":scope > .inline-error[data-from-glue], :scope > td .inline-error[data-from-glue]")
      .forEach(function (node) { node.remove(); });
    var next = host.nextElementSibling;
    if (next && next.matches("tr[data-from-glue]")) next.remove();
  }

  function showError(source, html) {
    var host = errorHost(source);
    if (!host) return;
    clearErrors(host);
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var alert = holder.content.querySelector(".inline-error") || document.createElement("div");
    if (!alert.classList.contains("inline-error")) {
      alert.className = "inline-error";
      alert.textContent = "That did not go through. Please try again.";
    }
    alert.setAttribute("data-from-glue", "");
    alert.setAttribute("tabindex", "-1");
    if (host.tagName === "TR") { // a table row gets a full-width row under it
      var row = document.createElement("tr");
      var cell = document.createElement("td");
      row.setAttribute("data-from-glue", "");
      row.className = "error-row";
      cell.colSpan = host.cells.length || 1;
      cell.appendChild(alert);
      row.appendChild(cell);
      host.after(row);
    } else {
      host.prepend(alert);
    }
    alert.focus({ preventScroll: false });
  }

  document.addEventListener("htmx:response:error", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (!ctx || !ctx.response || !ctx.response.headers.get(ERROR_HEADER)) return;
    showError(ctx.sourceElement, ctx.text || "");
  });

  document.addEventListener("htmx:before:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.sourceElement) clearErrors(errorHost(ctx.sourceElement));
  });

  // Network failures and timeouts: nothing came back to show in place.
  document.addEventListener("htmx:error", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.response) return; // an answer arrived; handled above
    var toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = "That did not go through. Check your connection and try again.";
    toast.hidden = false;
    setTimeout(function () { toast.hidden = true; }, 6000);
  });

  // ---- step lists: the selected row follows the inspector -----------------------------------
  function syncSelection() {
    var inspector = document.getElementById("inspector");
    if (!inspector) return;
    var selected = inspector.getAttribute("data-selected-step");
    document.querySelectorAll(".step-row").forEach(function (row) {
      row.classList.toggle("is-selected", row.getAttribute("data-step-id") === selected);
    });
  }

  document.addEventListener("htmx:after:swap", function (event) {
    var ctx = event.detail && event.detail.ctx;
    syncSelection();
    var source = ctx && ctx.sourceElement;
    if (source && source.getAttribute && source.getAttribute("aria-controls") === "inspector") {
      var inspector = document.getElementById("inspector");
      var box = inspector && inspector.getBoundingClientRect();
      if (box && (box.top < 0 || box.top > window.innerHeight * 0.8)) {
        inspector.scrollIntoView({ block: "start", behavior: "smooth" });
      }
    }
  });

  // ---- form helpers ---------------------------------------------------------------------------
  // A title edited in a row saves on change; Enter saves it too instead of submitting a form.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key === "Enter" && field.matches && field.matches("[data-enter-commits]")) {
      event.preventDefault();
      field.blur();
    }
  });

  // Files are checked before upload (type and size); the server checks again.
  function checkFiles(input) {
    var max = parseInt(input.dataset.maxBytes || "0", 10);
    var accepted = (input.dataset.accept || "").split(",").filter(Boolean);
    var problems = [];
    Array.prototype.forEach.call(input.files || [], function (file) {
      var extension = (file.name.split(".").pop() || "").toLowerCase();
      if (accepted.length && accepted.indexOf(extension) === -1) {
        problems.push(file.name + ": only " + accepted.join(", ").toUpperCase() + " files are accepted.");
      } else if (max && file.size > max) {
        problems.push(file.name + " is larger than " + Math.round(max / 1048576) + " MB.");
      }
    });
    var message = problems.join(" ");
    input.setCustomValidity(message);
    var box = input.form && input.form.querySelector("[data-file-error]");
    if (box) {
      box.textContent = message;
      box.hidden = !message;
    }
    var label = input.closest(".file-drop");
    if (label) {
      var title = label.querySelector(".file-drop-title");
      var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
      if (title) title.textContent = names.length ? names.join(", ") : "Choose files to upload";
      label.classList.toggle("has-files", names.length > 0);
    }
    return !message;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=file][data-max-bytes]")) {
      checkFiles(event.target);
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-open-details]");
    if (!opener) return;
    var panel = document.getElementById(opener.getAttribute("data-open-details"));
    if (!panel) return;
    event.preventDefault();
    panel.open = true;
    var first = panel.querySelector("input:not([type=hidden])");
    if (first) first.focus();
  });

  function init(root) {
    initSortables(root);
    syncSelection();
  }

  if (window.htmx) window.htmx.onLoad(function (element) { init(element.querySelectorAll ? element : document); });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
