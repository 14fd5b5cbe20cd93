#!/usr/bin/python3
"""cdp_shot.py: signs a staff member in to the portal in headless Chromium
(tests/integration/cdp.py), then for each --shot saves the page's DOM and a screenshot of
WIDTHxHEIGHT. For the tests that look at the status pages (test_page.sh).

    cdp_shot.py --chromium PATH --tmp DIR --allow ADDR --spki PIN --base URL --staff NAME
                --password-file FILE [--shot URL DOM PNG WIDTH HEIGHT]...
Exit 0 when every page loaded with 200; messages on stderr.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CDPError  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    for a in ("chromium", "tmp", "allow", "spki", "base", "staff", "password-file"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--shot", nargs=5, action="append", default=[])
    o = ap.parse_args()
    password = open(o.password_file).read().strip()
    b = Browser(o.chromium, o.tmp, o.allow, o.spki)
    rc = 0
    try:
        p = b.page()
        p.goto(o.base + "/signin")
        p.fill({"#staff input[name=name]": o.staff, "#staff input[name=password]": password})
        p.click("#staff button")
        if p.path() != "/":
            print("staff sign-in failed: %s" % p.path(), file=sys.stderr)
            return 1
        for url, dom, png, w, h in o.shot:
            b.send("Emulation.setDeviceMetricsOverride", {"width": int(w), "height": int(h),
                                                          "deviceScaleFactor": 1,
                                                          "mobile": False}, p.session)
            p.goto(url)
            if p.status != 200:
                print("%s: HTTP %s" % (url, p.status), file=sys.stderr)
                rc = 1
            with open(dom, "w") as f:
                f.write(p.js("document.documentElement.outerHTML"))
            data = b.send("Page.captureScreenshot", {"format": "png"}, p.session)["data"]
            import base64
            with open(png, "wb") as f:
                f.write(base64.b64decode(data))
    except CDPError as e:
        print("chromium: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        b.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
