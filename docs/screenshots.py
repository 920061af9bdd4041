"""Take the README's screenshots of the viewer (light, dark, embedded) with headless Chromium.

    python3 docs/screenshots.py   # writes docs/viewer-light.png, viewer-dark.png, embed.png,
                                  # viewer-columns.png and viewer-trace.png

Needs the test extra (playwright) and Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from playwright.sync_api import sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sample_lines() -> list[str]:
    """A short, varied log: levels, ANSI colours, JSON and markup-looking text."""
    rng = random.Random(7)
    out = []
    t = datetime.datetime(2026, 11, 24, 6, 0, 0)
    paths = ["/api/orders", "/api/users/42", "/login", "/static/app.js", "/healthz"]
    for i in range(46):
        t += datetime.timedelta(seconds=rng.randint(0, 2))
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S")
        kind = i % 9
        if i == 30:
            out.append(f"{stamp} WARN  db: slow query took 2.41s: SELECT * FROM orders WHERE status = 'open'")
        elif i == 38:
            out.append(f"{stamp} CRITICAL disk /var is 97% full")
        elif kind in (0, 3, 6):
            status = rng.choice([200, 200, 201, 304])
            out.append(f"{stamp} INFO  http: GET {rng.choice(paths)} {status} {rng.randint(2, 90)}ms")
        elif kind == 1:
            out.append(f"{stamp} DEBUG cache: hit ratio {rng.uniform(0.8, 0.99):.3f} over 1000 lookups")
        elif kind == 2:
            body = {"time": stamp, "level": "info", "msg": "job finished", "job": rng.randint(1000, 9999)}
            out.append(json.dumps(body))
        elif kind == 4:
            out.append(
                f"\x1b[33mWARN\x1b[0m {stamp} worker-{rng.randint(1, 8)} queue depth \x1b[1m{rng.randint(80, 140)}\x1b[0m"
            )
        elif kind == 5 and i > 20:
            out.append(f"{stamp} ERROR db: connection reset by peer (attempt {rng.randint(1, 3)}/3)")
        elif kind == 7:
            out.append(f"\x1b[32m✔\x1b[0m {stamp} deploy \x1b[36mweb-{rng.randint(10, 99)}\x1b[0m healthy")
        else:
            out.append(
                f"{stamp} INFO  payments: charge ok amount=\x1b[35m{rng.randint(5, 500)}.00\x1b[0m EUR"
            )
    return out


def api_lines() -> list[str]:
    """JSON lines of an API: time, level, message and fields, some nested."""
    rng = random.Random(11)
    out = []
    t = datetime.datetime(2026, 12, 1, 9, 30, 0, tzinfo=datetime.timezone.utc)
    routes = ["/api/orders", "/api/users", "/api/cart", "/api/search"]
    for i in range(40):
        t += datetime.timedelta(milliseconds=rng.randint(50, 900))
        duration = rng.choice([rng.randint(3, 90)] * 5 + [rng.randint(400, 2400)])
        level = "error" if duration > 2000 else "warn" if duration > 400 else "info"
        msg = {"error": "upstream timeout", "warn": "slow request", "info": "request done"}[level]
        body = {
            "ts": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "msg": msg,
            "route": rng.choice(routes),
            "status": 504 if level == "error" else 200,
            "user": {"id": rng.choice([7, 42, 42, 108, 311])},
            "duration_ms": duration,
        }
        out.append(json.dumps(body))
        if i % 13 == 5:
            out.append(f'ts={body["ts"]} level=info msg="cache refreshed" entries={rng.randint(900, 1200)}')
    return out


TRACES = [
    "2026-12-01T09:31:02Z INFO  worker: picked job 7311 (resize)",
    "2026-12-01T09:31:03Z ERROR worker: job 7311 failed",
    "Traceback (most recent call last):",
    '  File "/srv/worker/jobs.py", line 88, in run',
    "    result = handler(job.payload)",
    '  File "/srv/worker/images.py", line 41, in resize',
    "    width = int(payload['width'])",
    "ValueError: invalid literal for int() with base 10: 'auto'",
    "2026-12-01T09:31:04Z INFO  worker: picked job 7312 (report)",
    "2026-12-01T09:31:05Z ERROR api: request POST /api/orders failed",
    "java.lang.IllegalStateException: order 5512 already settled",
    "\tat com.example.orders.Settlement.settle(Settlement.java:118)",
    "\tat com.example.orders.OrderService.pay(OrderService.java:64)",
    "\tat com.example.api.OrdersController.post(OrdersController.java:39)",
    "Caused by: java.sql.SQLException: deadlock detected",
    "\tat org.postgresql.core.v3.QueryExecutorImpl.receive(QueryExecutorImpl.java:2675)",
    "\t... 42 more",
    "2026-12-01T09:31:06Z WARN  worker: job 7312 retried (1/3)",
    "2026-12-01T09:31:07Z ERROR worker: job 7313 failed",
    "Traceback (most recent call last):",
    '  File "/srv/worker/jobs.py", line 88, in run',
    "    result = handler(job.payload)",
    "KeyError: 'owner'",
    "2026-12-01T09:31:08Z INFO  worker: idle",
]


def main() -> int:
    work = tempfile.mkdtemp(prefix="tailsse-shots-")
    app_log = os.path.join(work, "app.log")
    with open(app_log, "w", encoding="utf-8") as f:
        f.write("\n".join(sample_lines()) + "\n")
    with open(os.path.join(work, "worker.log"), "w", encoding="utf-8") as f:
        f.write("\n".join(TRACES) + "\n")
    with open(os.path.join(work, "api.log"), "w", encoding="utf-8") as f:
        f.write("\n".join(api_lines()) + "\n")
    logs = [app_log, os.path.join(work, "worker.log"), os.path.join(work, "api.log")]
    cmd = [sys.executable, "-m", "tailsse", "serve", "--port", "0", *logs]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            with open(app_log, "a", encoding="utf-8") as f:
                f.write(
                    '{"time": "2026-11-24T06:01:02", "level": "error", "msg": "payment declined", "code": 402}\n'
                )
            views = {"light": "view/app.log", "dark": "view/app.log?filter=GET%7CERROR%7CWARN&regex=1"}
            for scheme, path in views.items():
                page = browser.new_page(viewport={"width": 1180, "height": 640}, color_scheme=scheme)
                page.goto(url + path)
                page.locator(".row").nth(3).wait_for()
                if scheme == "light":
                    page.click("#json")
                    page.hover(".row:nth-last-child(6)")
                else:
                    page.click("#time")
                page.wait_for_timeout(300)
                page.screenshot(path=os.path.join(HERE, f"viewer-{scheme}.png"))
                page.close()
            # JSON lines as columns, slow requests of one user highlighted.
            page = browser.new_page(viewport={"width": 1180, "height": 640}, color_scheme="light")
            page.goto(url + "view/api.log?columns=1&fields=route,user.id,duration_ms&highlight=red:timeout")
            page.locator(".row.cols").nth(10).wait_for()
            page.fill("#where", "duration_ms>100")
            page.wait_for_timeout(600)
            page.screenshot(path=os.path.join(HERE, "viewer-columns.png"))
            page.close()
            # Stack traces grouped with the line that reports them; one folded.
            page = browser.new_page(viewport={"width": 1180, "height": 640}, color_scheme="dark")
            rule = urllib.parse.quote(r"orange:/\w+(Error|Exception)\b/")
            page.goto(url + "view/worker.log?highlight=" + rule)
            page.locator(".row.head").nth(2).wait_for()
            page.locator(".row.head").nth(2).locator(".fold").click()
            page.click("#time")
            page.wait_for_timeout(400)
            page.screenshot(path=os.path.join(HERE, "viewer-trace.png"))
            page.close()
            page = browser.new_page(viewport={"width": 980, "height": 560}, color_scheme="light")
            page.set_content(dashboard(url + "embed/app.log?theme=dark&lines=30"))
            frame = page.frame_locator("iframe")
            frame.locator(".row").nth(20).wait_for()
            page.wait_for_timeout(300)
            page.screenshot(path=os.path.join(HERE, "embed.png"))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(5)
    names = ("viewer-light", "viewer-dark", "embed", "viewer-columns", "viewer-trace")
    print("wrote", ", ".join(f"docs/{n}.png" for n in names))
    return 0


def dashboard(src: str) -> str:
    """A stand-in dashboard page with the viewer embedded in one of its panels."""
    return f"""<!doctype html><meta charset="utf-8">
<style>
body {{ margin: 0; font: 14px system-ui, sans-serif; background: #eef1f5; color: #1f2328; }}
header {{ background: #24292f; color: #fff; padding: 12px 20px; font-weight: 600; }}
main {{ display: grid; grid-template-columns: 260px 1fr; gap: 16px; padding: 16px; }}
.card {{ background: #fff; border-radius: 8px; padding: 14px 16px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }}
.card h2 {{ font-size: 13px; margin: 0 0 10px; color: #57606a; font-weight: 600; }}
.big {{ font-size: 28px; font-weight: 650; }}
.ok {{ color: #1a7f37; }}
iframe {{ width: 100%; height: 400px; border: 0; border-radius: 6px; display: block; }}
</style>
<header>Operations dashboard</header>
<main>
  <div>
    <div class="card"><h2>Requests / min</h2><div class="big">1,284</div></div><br>
    <div class="card"><h2>Error rate</h2><div class="big ok">0.4%</div></div><br>
    <div class="card"><h2>Deploy</h2><div>web-42 · healthy</div></div>
  </div>
  <div class="card"><h2>app.log (live)</h2>
    <iframe src="{src}" title="app.log"></iframe>
  </div>
</main>"""


if __name__ == "__main__":
    sys.exit(main())
