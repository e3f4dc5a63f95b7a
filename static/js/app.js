// Glue only: show HTMX request failures in place of a silent or blank swap.
document.addEventListener("htmx:error", (event) => {
  const toast = document.getElementById("toast");
  if (!toast) return;
  toast.textContent = "That did not go through. Check your connection and try again.";
  toast.hidden = false;
  setTimeout(() => { toast.hidden = true; }, 6000);
});
