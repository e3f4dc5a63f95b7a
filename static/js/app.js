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

  // ---- requests that change something: one key per action, buttons off while they run ------
  // The server records the Idempotency-Key with the change (web/form_tokens.py), so a second
  // request with the same key changes nothing. An element keeps its key while it sends the
  // same thing and has not succeeded yet (a double click, a retry after a network error);
  // a success or a different body (unticking what was just ticked) makes a new one.
  var KEYS = new WeakMap();

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function bodyText(body) {
    if (!body || !body.forEach) return String(body || "");
    var parts = [];
    body.forEach(function (value, name) {
      if (name === "form_token") return;
      parts.push(name + "=" + (value && value.name !== undefined ? value.name + ":" + value.size : value));
    });
    return parts.join("&");
  }

  function keyFor(element, body) {
    var text = bodyText(body);
    var held = KEYS.get(element);
    if (!held || held.body !== text) {
      held = { key: newKey(), body: text };
      KEYS.set(element, held);
    }
    return held.key;
  }

  // The buttons a request disables: the one that sent it and its form's submit buttons.
  // Fields stay enabled: disabling one would drop the focus of the person typing in it.
  function buttonsOf(source) {
    if (!source || !source.matches) return [];
    var form = source.matches("form") ? source : null;
    var buttons = form ? Array.prototype.slice.call(form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]")) : [];
    if (source.matches("button, input[type=submit]") && buttons.indexOf(source) === -1) buttons.push(source);
    return buttons.filter(function (button) { return !button.disabled; });
  }

  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (!ctx || !ctx.request || /^(GET|HEAD)$/i.test(ctx.request.method || "GET")) return;
    var source = ctx.sourceElement;
    if (source) ctx.request.headers["Idempotency-Key"] = keyFor(source, ctx.request.body);
    ctx.busyButtons = buttonsOf(source);
    ctx.busyButtons.forEach(function (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    });
  });

  document.addEventListener("htmx:finally:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (!ctx) return;
    (ctx.busyButtons || []).forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
    var response = ctx.response;
    var ok = response && response.status >= 200 && response.status < 300;
    if (ok && ctx.sourceElement) KEYS.delete(ctx.sourceElement); // done: the next action is new
  });

  // A plain form (no HTMX): its button is off once it is sent; the page that comes back is new.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.matches || form.matches("[hx-post], [hx-get]")) return;
    setTimeout(function () {
      buttonsOf(form).forEach(function (button) {
        button.disabled = true;
        button.setAttribute("data-sent", "");
      });
    }, 0);
  });
  window.addEventListener("pageshow", function (event) { // back to a page kept in memory
    if (!event.persisted) return;
    document.querySelectorAll("[data-sent]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("data-sent");
    });
  });

  // ---- focus after a swap: the next sensible control, never the page body -------------------
  // An element the server marks [data-focus-after-swap] takes the focus (the new step's title,
  // the next step's first control); else, when the focused element was swapped away, focus
  // goes to the first control of what replaced it.
  var FOCUSABLE = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), a[href], [tabindex]:not([tabindex='-1'])";
  document.addEventListener("htmx:before:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var active = document.activeElement;
    if (ctx && active && active !== document.body) ctx.focusedId = active.id || null;
  });

  function focusControl(element) {
    if (!element) return false;
    var control = element.matches(FOCUSABLE) ? element : element.querySelector(FOCUSABLE);
    if (!control) {
      if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "-1");
      control = element;
    }
    control.focus({ preventScroll: false });
    return document.activeElement === control;
  }

  function restoreFocus(ctx) {
    var marked = document.querySelector("[data-focus-after-swap]");
    if (marked) {
      marked.removeAttribute("data-focus-after-swap");
      if (focusControl(marked)) return;
    }
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) return; // still there
    if (ctx && ctx.focusedId) { // the same control, re-rendered
      var again = document.getElementById(ctx.focusedId);
      if (again && focusControl(again)) return;
    }
    var target = ctx && ctx.target;
    if (target && document.contains(target) && focusControl(target)) return;
    if (target && target.id) focusControl(document.getElementById(target.id));
  }

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
    restoreFocus(ctx);
    var source = ctx && ctx.sourceElement;
    if (source && source.getAttribute && source.getAttribute("aria-controls") === "inspector") {
      var inspector = document.getElementById("inspector");
      var box = inspector && inspector.getBoundingClientRect();
      if (box && (box.top < 0 || box.top > window.innerHeight * 0.8)) {
        inspector.scrollIntoView({ block: "start", behavior: "smooth" });
      }
    }
  });

  // ---- the header's Admin menu: closes on a click elsewhere and on Escape -------------------
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.nav-admin[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.nav-admin[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
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

  // ---- confirmation dialogs ------------------------------------------------------------------
  // An opener is a real link (the page renders the dialog open without JavaScript); with
  // JavaScript it opens the native <dialog> as a modal, which traps focus and closes on Esc.
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof HTMLDialogElement && target.open) { // a click on the backdrop
      var box = target.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) target.close();
      return;
    }
    var opener = target.closest && target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (!dialog || !dialog.showModal) return;
      event.preventDefault();
      if (dialog.open) dialog.close();
      dialog.showModal();
      var first = dialog.querySelector("textarea, input:not([type=hidden])");
      if (first) first.focus();
      return;
    }
    var closer = target.closest && target.closest("[data-close-dialog]");
    var open = closer && closer.closest("dialog");
    if (open) {
      event.preventDefault();
      open.close();
    }
  });

  // A destructive button waits until its confirmation text is typed exactly; the server
  // checks it again.
  function syncMatch(input) {
    var button = input.form && input.form.querySelector("[data-match-submit]");
    if (button) button.disabled = input.value.trim() !== input.getAttribute("data-must-match");
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-must-match]")) syncMatch(event.target);
  });

  // ---- triggers (admin) ----------------------------------------------------------------------
  // Copy buttons put their text on the clipboard; the create form shows the fields of the
  // chosen kind only (without JavaScript every field shows, each labelled with its kind).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  function syncKind(select) {
    var form = select.form;
    if (!form) return;
    form.querySelectorAll("[data-for-kind]").forEach(function (part) {
      part.hidden = part.getAttribute("data-for-kind") !== select.value;
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-kind-select]")) syncKind(event.target);
  });

  function init(root) {
    initSortables(root);
    root.querySelectorAll("[data-kind-select]").forEach(syncKind);
    syncSelection();
    root.querySelectorAll("[data-must-match]").forEach(syncMatch);
  }

  // ---- the bell: its count is asked again after any other HTMX action (one may have made a
  // step ready for someone, or read a notification); its own polling does not count.
  document.addEventListener("htmx:after:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var source = ctx && ctx.sourceElement;
    if (!source || (source.closest && source.closest("#notification-bell"))) return;
    if (!document.getElementById("notification-bell")) return;
    document.body.dispatchEvent(new CustomEvent("notifications:refresh"));
  });

  if (window.htmx) window.htmx.onLoad(function (element) { init(element.querySelectorAll ? element : document); });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
