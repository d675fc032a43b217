"""The web map's first paint with every force's layers (issue 23): a national store whose layers
`saferhub national run --layers` published (e.g. 44 synthetic forces), served by the app, loaded
in headless Chromium (Debian's) at 1366x900 and in phone emulation (390x844).

    python benchmarks/bench_web_national.py --store STORE [--loads 5] [--force synthetic-07] [--shots DIR]

Printed per size, median of `loads` (a first, uncounted load warms the server's file cache):
- first paint: navigation start to the chosen force's hot-spot layer drawn (the page's own
  `hotspots-drawn` performance mark, after `data-hotspots-force` names the force), against the
  single-force map's target of 1.0 s;
- overview: the "every force" box ticked to every force's circle drawn and painted
  (`data-overview-drawn`, then two animation frames), against 0.5 s.
The page's size (the catalogue of every force's layers rides in it) is printed too.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))
from bench_hub import PASSWORD  # noqa: E402
from bench_web import SIZES, inspector_app, serve  # noqa: E402

PAINT_TARGET_S, OVERVIEW_TARGET_S = 1.0, 0.5
OVERVIEW_JS = """() => new Promise(res => {
  const t0 = performance.now(); document.querySelector("#show-overview").click();
  const check = () => document.body.hasAttribute("data-overview-drawn")
    ? requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t0))) : requestAnimationFrame(check);
  check();
})"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    from saferhub.data.products import read_product
    from saferhub.hub.services.maps import national_forces

    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--force", help="The force to open (default: the page's own choice, the first force).")
    ap.add_argument("--shots", type=Path, help="Save a screenshot of each size here.")
    a = ap.parse_args()
    forces = national_forces(read_product("national-map-layers", a.store) or {})
    if not forces:
        sys.exit(f"{a.store}: no national layers (run saferhub national run --layers)")
    base, server, thread = serve(inspector_app(a.store))
    path = "/web/map" + (f"?force={a.force}" if a.force else "")
    rows, errors = [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        for label, ctx_args in SIZES:
            ctx = b.new_context(**ctx_args)
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/web/login")
            page.fill("input[name=email]", "inspector@bench.invalid")
            page.fill("input[name=password]", PASSWORD)
            page.click("button")
            page.wait_for_load_state("load")
            paints, overviews, size = [], [], 0
            for i in range(a.loads + 1):
                r = page.goto(f"{base}{path}", wait_until="commit")
                size = len(r.body())
                page.wait_for_selector("body[data-hotspots-force]:not([data-hotspots-force=''])", timeout=60000)
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                mark = page.evaluate("performance.getEntriesByName('hotspots-drawn').slice(-1)[0].startTime")
                drawn = page.get_attribute("body", "data-hotspots-drawn")   # at the opening view
                secs = page.evaluate(OVERVIEW_JS) / 1000
                if i:
                    paints.append(mark / 1000)
                    overviews.append(secs)
            chosen = page.get_attribute("body", "data-hotspots-force")
            shown = page.get_attribute("body", "data-overview-drawn")
            if a.shots:
                a.shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(a.shots / f"national-{label.split()[0]}.png"), full_page=True)
            rows.append((label, paints, overviews, chosen, drawn, shown, size))
            ctx.close()
        b.close()
    server.should_exit = True
    thread.join(timeout=10)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{len(forces)} forces in the national catalogue; /proc/loadavg after the runs: {' '.join(load)}")
    for label, paints, overviews, chosen, drawn, shown, size in rows:
        med, med_o = statistics.median(paints), statistics.median(overviews)
        print(f"| first paint, {label}, {chosen} ({drawn} squares or blocks drawn; page {size / 1024:.0f} KB), median of "
              f"{a.loads} | **{med:.2f} s** ({', '.join(f'{x:.2f}' for x in paints)}) | <= {PAINT_TARGET_S} s | "
              f"{med / PAINT_TARGET_S:.2f} ({'met' if med <= PAINT_TARGET_S else 'not met'}) |")
        print(f"| overview ticked to {shown} forces drawn and painted, {label}, median of {a.loads} | **{med_o:.2f} s** "
              f"({', '.join(f'{x:.2f}' for x in overviews)}) | <= {OVERVIEW_TARGET_S} s | {med_o / OVERVIEW_TARGET_S:.2f} "
              f"({'met' if med_o <= OVERVIEW_TARGET_S else 'not met'}) |")
    if errors:
        print("page errors:", *errors, sep="\n  ")


if __name__ == "__main__":
    main()
