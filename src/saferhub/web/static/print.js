/* Print buttons (data-print): wired here because the Content-Security-Policy allows no inline
   event handlers. */
Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
  b.addEventListener("click", function () { window.print(); });
});
