"""Open every page of the built site in headless Chromium, as a person would.

    python docs/check_site.py [docs/_build/html] [--screenshots docs/_build/screenshots]

Serves the built site on 127.0.0.1 (a free port, stopped at the end) and, with Playwright
driving Debian's /usr/bin/chromium (``CHROMIUM`` overrides the path; never ``playwright
install``), checks on every page: no console error and no page error; no raw TeX left
(``\\(``, ``\\[``, ``$$``) and MathJax output (``mjx-container``) wherever the page has math;
every <img> loaded (naturalWidth > 0); every internal link answers HTTP 200; no request to any
host but the local server. Then the search page must find ``CrossEntropyLoss``, and three pages
are saved as screenshots. Exit status 0 when everything passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = {
    "loss-page.png": "generated/losses/torch/torch.CrossEntropyLoss.html",
    "matrix.png": "generated/matrix.html",
    "why.png": "generated/why.html",
}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # the browser closes connections it no longer needs (a page navigated away from while a
        # resource was being sent): not an error of the site
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _serve(root: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _pages(root: str) -> list[str]:
    out = []
    for folder, _, files in os.walk(root):
        for f in files:
            if f.endswith(".html"):
                out.append(os.path.relpath(os.path.join(folder, f), root).replace(os.sep, "/"))
    return sorted(out)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("site", nargs="?", default=os.path.join(HERE, "_build", "html"))
    parser.add_argument("--screenshots", default=os.path.join(HERE, "_build", "screenshots"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    root = os.path.abspath(args.site)
    pages = _pages(root)
    if not pages:
        print(f"no HTML page under {root}: build the site first", file=sys.stderr)
        return 1
    server, base = _serve(root)
    problems: list[str] = []
    links: dict[str, str] = {}  # url -> first page linking it
    external: set[str] = set()  # requests the pages made to other hosts (must be none)
    external_links: set[str] = set()  # links to other hosts (allowed: not loaded)
    math_pages = images = 0
    start = time.time()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

            def request(r: object) -> None:
                url = r.url  # type: ignore[attr-defined]
                if url.startswith(("http://", "https://")) and not url.startswith(base):
                    external.add(url)

            page.on("request", request)
            for rel in pages:
                errors.clear()
                url = base + rel
                response = page.goto(url, wait_until="load")
                if response is None or response.status != 200:
                    problems.append(f"{rel}: HTTP {None if response is None else response.status}")
                    continue
                has_math = page.evaluate("document.querySelector('.math') !== null")
                if has_math:
                    math_pages += 1
                    try:
                        page.wait_for_function(
                            "document.querySelectorAll('.math').length <= document.querySelectorAll('mjx-container').length",
                            timeout=20000)
                    except Exception:
                        problems.append(f"{rel}: MathJax did not render every formula")
                    raw = page.evaluate(
                        "Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container'))"
                        ".map(e => e.textContent.slice(0, 60))")
                    if raw:
                        problems.append(f"{rel}: raw TeX left: {raw[:3]}")
                text = page.evaluate(
                    "(() => { const b = document.querySelector('article') || document.body; const c = b.cloneNode(true);"
                    " c.querySelectorAll('pre, code, mjx-container, script').forEach(e => e.remove()); return c.innerText })()")
                for marker in ("\\(", "\\[", "$$"):
                    if marker in text:
                        problems.append(f"{rel}: raw TeX marker {marker!r} in the text")
                broken = page.evaluate(
                    "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
                images += page.evaluate("document.images.length")
                for src in broken:
                    problems.append(f"{rel}: image not loaded: {src}")
                for href in page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"):
                    if href.startswith(base):
                        links.setdefault(href.split("#")[0], rel)
                    elif href.startswith(("http://", "https://")):
                        external_links.add(href)
                problems += [f"{rel}: {e}" for e in errors]
            for url, rel in sorted(links.items()):
                status = _status(url)
                if status != 200:
                    problems.append(f"{rel}: link {url} gives HTTP {status}")
            page.goto(base + "search.html?q=CrossEntropyLoss", wait_until="load")
            try:
                page.wait_for_function(
                    "document.querySelectorAll('#search-results ul.search li').length > 0", timeout=30000)
                hits = page.evaluate(
                    "Array.from(document.querySelectorAll('#search-results ul.search li a')).map(a => a.textContent)")
                if not any("CrossEntropyLoss" in h for h in hits):
                    problems.append(f"search for CrossEntropyLoss: no page titled with it in {hits[:5]}")
            except Exception as e:
                problems.append(f"search for CrossEntropyLoss found nothing ({e.__class__.__name__})")
            os.makedirs(args.screenshots, exist_ok=True)
            for name, rel in SCREENSHOTS.items():
                page.goto(base + rel, wait_until="load")
                if page.evaluate("document.querySelector('.math') !== null"):
                    page.wait_for_function(
                        "document.querySelectorAll('.math').length <= document.querySelectorAll('mjx-container').length",
                        timeout=20000)
                page.screenshot(path=os.path.join(args.screenshots, name), full_page=False)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    loaded = sorted(external)
    print(f"{len(pages)} pages, {len(links)} internal links, {len(external_links)} links to other hosts (not "
          f"followed), {images} images, {math_pages} pages with math, "
          f"checked in {time.time() - start:.1f} s; screenshots in {args.screenshots}")
    if loaded:
        problems.append(f"requests to other hosts: {loaded[:5]}")
    for problem in problems:
        print("FAIL", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
