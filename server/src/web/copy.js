// Copy buttons: a button with data-copy="ID" copies the text of element ID. Buttons start
// hidden, so without JavaScript the page shows only the (selectable) text.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el.textContent).then(function () { b.textContent = "Copied"; });
    });
  });
});
