#!/usr/bin/env python3
"""The viewer in a real browser: headless Chromium (Debian's) driven by Selenium.

Ingests the bundled sample (real traffic with loss: gaps, overlaps), the real
HTTP/TLS/SSH fixture and the hostile capture, starts `flowdb serve` on a free
loopback port, and checks:
  - `/` lists the flows `flowdb query --format json` lists (ids, same order);
  - filtering by SNI and by state in the filter bar lists what `query --sni` and
    `query --state` list;
  - a flow page's follow stream, every page loaded, in its hex view, holds exactly
    the bytes `query --show raw` prints for each direction;
  - the pcap download (fetched by the page's own origin) equals `query --pcap`;
  - the hostile flows' pages run no script (window.__pwned stays unset, no element
    the payloads would create exists) and show every payload as literal text;
  - a request without the token is refused when one is set.
Saves screenshots of the list and of a flow page (--screenshots DIR).

  usage: scripts/browser-check.py --flowdb BIN [--screenshots DIR]
  exit status: 0 all passed, 1 a check failed, 2 no Chromium/Selenium (skipped)"""
import argparse, base64, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.request

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))


def run(flowdb, *args):
    r = subprocess.run([flowdb, *args], capture_output=True)
    if r.returncode != 0 and b"no flows match" not in r.stderr:
        raise SystemExit(f"flowdb {' '.join(args)}: {r.stderr.decode()}")
    return r.stdout


def query_ids(flowdb, db, *args):
    out = run(flowdb, "query", "--db", db, "--format", "json", "--limit", "0", *args)
    return [json.loads(l)["id"] for l in out.splitlines() if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowdb", required=True)
    ap.add_argument("--screenshots")
    a = ap.parse_args()
    try:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        print("SKIP: selenium is not installed (pip install selenium)")
        return 2
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        print("SKIP: Debian's chromium and chromium-driver are not installed")
        return 2

    work = tempfile.mkdtemp(prefix="flowdb-browser-")
    db = os.path.join(work, "a.sqlite")
    captures = [os.path.join(here, "Samples/sample-loss.pcap"), os.path.join(here, "Tests/Fixtures/apps/app.pcap"),
                os.path.join(here, "Tests/Fixtures/serve/hostile-web.pcap")]
    run(a.flowdb, "ingest", "--quiet", "--db", db, *captures)
    token = "browser-check-token-0123456789"
    server = subprocess.Popen([a.flowdb, "serve", "--db", db, "--listen", "127.0.0.1:0", "--token", token],
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        m = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        if not m:
            raise SystemExit("flowdb serve did not say where it listens: " + line)
        base = m.group(1)
        try:
            urllib.request.urlopen(base + "api/flows")
            check("a request without the token is refused", False, "it was answered")
        except urllib.error.HTTPError as e:
            check("a request without the token is refused", e.code == 401, f"status {e.code}")

        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000", "--disable-dev-shm-usage"):
            options.add_argument(arg)
        browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
        browser.set_script_timeout(30)
        wait = WebDriverWait(browser, 20)
        try:
            # the token once in the URL sets the cookie the pages' requests carry
            browser.get(base + "?token=" + token)
            wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#flows tbody tr"))
            listed = [int(r.get_attribute("data-id")) for r in browser.find_elements(By.CSS_SELECTOR, "#flows tbody tr")]
            expected = query_ids(a.flowdb, db)[:100]
            check("/ lists the flows query lists", listed == expected, f"{listed[:10]}... vs {expected[:10]}...")
            wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#timeline rect"))
            check("/ draws flows over time, top talkers and the mix",
                  bool(browser.find_elements(By.CSS_SELECTOR, "#talkers tr")) and bool(browser.find_elements(By.CSS_SELECTOR, "#mix tr")))
            if a.screenshots:
                browser.save_screenshot(os.path.join(a.screenshots, "serve-list.png"))

            for words, cli in ((["sni=www.example.com"], ["--sni", "www.example.com"]),
                               (["state=SF"], ["--state", "SF"]),
                               (["state=reset", "proto=tcp"], ["--state", "reset", "--proto", "tcp"])):
                box = browser.find_element(By.ID, "filter")
                box.clear()
                box.send_keys(" ".join(words))
                box.submit()
                wait.until(lambda b: "flows " in b.find_element(By.ID, "status").text or "no flows" in b.find_element(By.ID, "status").text)
                got = [int(r.get_attribute("data-id")) for r in browser.find_elements(By.CSS_SELECTOR, "#flows tbody tr")]
                want = query_ids(a.flowdb, db, *cli)[:100]
                check(f"filter bar {' '.join(words)} lists what query {' '.join(cli)} lists", got == want and len(want) > 0, f"{got} vs {want}")

            # the sample's flow with the most overlap: follow stream against --show raw
            flows = [json.loads(l) for l in run(a.flowdb, "query", "--db", db, "--format", "json", "--limit", "0").splitlines()]
            pick = max((f for f in flows if f["proto"] == "tcp"), key=lambda f: (f["overlap_bytes"], f["c2s_bytes"] + f["s2c_bytes"]))
            browser.get(base + f"flows/{pick['id']}")
            wait.until(lambda b: "(all)" in b.find_element(By.ID, "follow-status").text or b.find_element(By.ID, "more").is_displayed())
            while browser.find_element(By.ID, "more").is_displayed():
                before = browser.find_element(By.ID, "follow-status").text
                browser.find_element(By.ID, "more").click()
                wait.until(lambda b: b.find_element(By.ID, "follow-status").text != before)
            if a.screenshots:
                browser.save_screenshot(os.path.join(a.screenshots, "serve-flow.png"))
            browser.find_element(By.ID, "view-hex").click()
            for direction in ("client", "server"):
                shown = bytearray()
                for pre in browser.find_elements(By.CSS_SELECTOR, f"pre.chunk.{direction}"):
                    for line in pre.get_attribute("textContent").split("\n"):
                        hexpart = line[10:60]
                        shown += bytes.fromhex(hexpart.replace(" ", ""))
                raw = run(a.flowdb, "query", "--db", db, "--flow", str(pick["id"]), "--show", "raw", "--dir", direction)
                check(f"follow stream of flow {pick['id']} shows the {direction}'s {len(raw)} bytes as --show raw",
                      bytes(shown) == raw, f"{len(shown)} bytes shown, {len(raw)} raw")
            pcap_b64 = browser.execute_async_script("""
                const done = arguments[arguments.length - 1];
                fetch(document.getElementById('pcap').href).then(r => r.arrayBuffer()).then(b => {
                  let s = ''; const u = new Uint8Array(b);
                  for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
                  done(btoa(s));
                }).catch(e => done('error ' + e));
            """)
            out = os.path.join(work, "flow.pcap")
            run(a.flowdb, "query", "--db", db, "--flow", str(pick["id"]), "--pcap", out)
            check(f"the pcap download of flow {pick['id']} equals query --pcap",
                  base64.b64decode(pcap_b64) == open(out, "rb").read(), pcap_b64[:40])

            # hostile content: every page, no script runs, payloads shown as text
            payloads = ["<script>window.__pwned=1</script>", "<svg/onload=window.__pwned=2>.example",
                        "<img src=x onerror=window.__pwned=2>", "<script>window.__pwned=3</script>",
                        "<script>window.__pwned=4</script>", "<img src=x onerror=window.__pwned=5>.example",
                        "window.__pwned=6", "<script>window.__pwned=7</script>.example",
                        "<img src=x onerror=window.__pwned=8>"]
            hostile = query_ids(a.flowdb, db, "--host", "10.66.0.0/16")
            pages = ["?token=" + token, "?host=10.66.0.0/16"] + [f"flows/{i}" for i in hostile]
            seen = ""
            for page in pages:
                browser.get(base + page)
                time.sleep(0.5)
                wait.until(lambda b: b.execute_script("return document.readyState") == "complete")
                time.sleep(0.5)
                pwned = browser.execute_script("return window.__pwned === undefined ? null : String(window.__pwned)")
                foreign = browser.execute_script(
                    "return document.querySelectorAll('img, iframe, object, embed, body svg:not(#timeline):not(#flow-timeline)').length"
                    " + document.querySelectorAll('script:not([src])').length")
                check(f"/{page}: no script ran, no element was injected", pwned is None and foreign == 0, f"__pwned={pwned}, {foreign} elements")
                seen += browser.find_element(By.TAG_NAME, "body").get_attribute("textContent")
                # the follow stream shows bodies: literal text there too
            for p in payloads:
                check(f"the payload {p!r} is shown as literal text", p in seen)
        finally:
            browser.quit()
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
