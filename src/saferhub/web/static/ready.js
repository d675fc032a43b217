// The page's ready mark for tests and scripts: set once the document is parsed (server pages need
// nothing more). The map sets its own marks when its layers are drawn.
document.addEventListener("DOMContentLoaded", function () { document.body.setAttribute("data-page-ready", "yes"); });
