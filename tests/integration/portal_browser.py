#!/usr/bin/python3
"""portal_browser.py: the supplies portal in headless Chromium (tests/integration/cdp.py),
for test_portal.sh. Prints one line per check ("ok - ..." / "not ok - ..."); screenshots
go to --art. The scenario:
  1. customer A asks for a sign-in link, opens the one the SMTP sink received, signs in,
     sees only site A and only its devices, asks for extra toner for a job;
  2. a staff member signs in with name and password, sees both sites, approves it;
  3. customer B signs in and cannot see site A by URL, by the API (fetch) or by guessing;
  4. a page on another origin posts the toner form with A's browser (CSRF): refused;
  5. the used link does not sign in again;
  6. the staff record a warehouse step on the approved order's line (A sees it shipped),
     place a special order from a device's card, revoke site A's agent;
  7. customer B tries each staff action (by URL, by the API, by a form with its own CSRF
     token): refused; a page on another origin posts a step with the staff's browser:
     refused.
The browser trusts the server's certificate through the test CA (--ca: its own NSS
database), or by its SPKI pin (--spki).

    portal_browser.py --chromium PATH --base URL --allow ADDR (--ca PEM | --spki PIN)
        --maildir DIR --tmp DIR --art DIR --site-a NAME --site-b NAME --email-a ADDR
        --email-b ADDR --device-a SERIAL --device-b SERIAL --staff NAME --password PW
        --evil URL --agent-a ID
"""
import argparse
import datetime
import glob
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CDPError  # noqa: E402

RESULTS = []


def check(text, cond, detail=""):
    RESULTS.append(bool(cond))
    print("%s - %s%s" % ("ok" if cond else "not ok", text,
                         "" if cond or not detail else " (%s)" % str(detail)[:300]))
    sys.stdout.flush()


def link_for(maildir, rcpt, seen, timeout=30):
    """The newest sign-in link mailed to rcpt that is not in seen."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for f in sorted(glob.glob(os.path.join(maildir, "mail-*.eml")),
                        key=lambda p: int(re.findall(r"(\d+)", os.path.basename(p))[0]),
                        reverse=True):
            raw = open(f, "rb").read().decode("utf-8", "replace")
            if ("To: <%s>" % rcpt) not in raw or "sign-in link" not in raw:
                continue
            m = re.search(r"https?://\S+/signin/link\?t=[0-9a-f]{64}", raw)
            if m and m.group(0) not in seen:
                seen.add(m.group(0))
                return m.group(0)
        time.sleep(0.3)
    return None


def sign_in_customer(b, o, email, seen):
    p = b.page()
    p.goto(o.base + "/sites/" + urllib.parse.quote(o.site_a))
    check("%s: a page without a session leads to the sign-in page" % email, p.path() == "/signin",
          p.path())
    p.fill({"#customer input[name=email]": email})
    p.click("#customer button")
    check("%s: the answer says a link is on its way (if the address is known)" % email,
          "If this address is a supplies contact" in p.text(), p.text()[:200])
    link = link_for(o.maildir, email, seen)
    check("%s: the sign-in link arrived through the outbox and the SMTP sink" % email, link)
    if not link:
        return p, None
    p.goto(link)
    p.click("#continue")
    check("%s: the link signs in (lands on the index)" % email, p.path() == "/", p.path())
    check("%s: over HTTPS, the server's certificate trusted by the browser (%s)"
          % (email, o.ca and "through the test CA" or "by its pin"),
          p.js("location.protocol") == "https:" and p.js("document.cookie") == "")
    return p, link


def customer_a(b, o, seen):
    p, link = sign_in_customer(b, o, o.email_a, seen)
    t = p.text()
    check("A sees its site", o.site_a in t, t[:300])
    check("A does not see site B", o.site_b not in t, t[:300])
    p.screenshot(os.path.join(o.art, "portal-customer-index.png"))
    p.goto(o.base + "/sites/" + urllib.parse.quote(o.site_a))
    serials = p.js("[...document.querySelectorAll('section.device')].map(e => e.dataset.serial)")
    check("A's site page shows its devices only: %s" % serials,
          serials and o.device_a in serials and o.device_b not in serials, serials)
    bg = p.js("getComputedStyle(document.querySelector('header')).backgroundColor")
    check("the stylesheet is served and allowed by the CSP (header colour %s)" % bg,
          bg == "rgb(15, 23, 42)", bg)
    styled = p.js("document.querySelectorAll('[style]').length")
    check("no inline style attribute on the page", styled == 0, styled)
    hostile = p.js("document.querySelectorAll('script, img, b.pwn').length")
    check("the hostile printer strings are text, not markup", hostile == 0, hostile)
    p.screenshot(os.path.join(o.art, "portal-customer-site.png"))
    p.click("section.device[data-serial=%s] a.button" % o.device_a)
    check("the extra toner form opens for the device", p.path() == "/requests/toner", p.path())
    today = datetime.datetime.now(datetime.timezone.utc).date()
    p.fill({"input[name=quantity]": "3",
            "input[name=from]": (today + datetime.timedelta(days=2)).isoformat(),
            "input[name=to]": (today + datetime.timedelta(days=4)).isoformat(),
            "textarea[name=note]": "<b class=pwn>big</b> mailing"})
    p.screenshot(os.path.join(o.art, "portal-customer-form.png"))
    p.click("form.form button")
    t = p.text()
    check("the request is queued for the staff (pending)", p.path() == "/requests"
          and "pending" in t and "extra toner: 3 x" in t, t[:300])
    check("the customer's note is shown as text", "<b class=pwn>big</b> mailing" in t
          and p.js("document.querySelectorAll('b.pwn').length") == 0, t[:300])
    p.screenshot(os.path.join(o.art, "portal-customer-requests.png"))
    return p, link


def staff(b, o):
    p = b.page()
    p.goto(o.base + "/signin")
    p.fill({"#staff input[name=name]": o.staff, "#staff input[name=password]": "wrong password!"})
    p.click("#staff button")
    check("staff: a wrong password is refused (401)", p.status == 401
          and "Wrong name or password" in p.text(), p.status)
    p.fill({"#staff input[name=name]": o.staff, "#staff input[name=password]": o.password})
    p.click("#staff button")
    t = p.text()
    check("staff: signed in, sees every site", p.path() == "/" and o.site_a in t
          and o.site_b in t, t[:300])
    p.goto(o.base + "/requests")
    check("staff: the pending request is listed with its buttons",
          p.js("document.querySelectorAll('tr.request form').length") >= 2)
    p.screenshot(os.path.join(o.art, "portal-staff-requests.png"))
    p.click("tr.request form[action$=approve] button")
    t = p.text()
    check("staff: approved, it became a special order", "approved" in t
          and re.search(r"order #\d+", t), t[:400])
    p.screenshot(os.path.join(o.art, "portal-staff-approved.png"))
    p.goto(o.base + "/audit")
    t = p.text()
    check("staff: the audit trail shows the approval and the denials",
          "approve" in t and "denied" in t, t[:300])
    p.screenshot(os.path.join(o.art, "portal-staff-audit.png"))
    return p


def staff_actions(b, o, p, page_a):
    """The staff's warehouse step, special order and revocation; A sees the step."""
    p.goto(o.base + "/orders")
    line = "tr.line[data-order='1'][data-line='1']"
    check("staff: the approved order's line is listed with its steps",
          p.js("document.querySelectorAll(\"%s form\").length" % line) == 2)
    p.click("%s form[action$=ship] button" % line)
    t = p.js("document.querySelector(\"%s\").innerText" % line)
    check("staff: the line is recorded shipped, and may now be delivered (%s)"
          % " ".join((t or "").split()),
          "shipped" in t and p.js("!!document.querySelector(\"%s form[action$=deliver]\")"
                                  % line), t)
    p.screenshot(os.path.join(o.art, "portal-staff-orders.png"))
    page_a.goto(o.base + "/sites/" + urllib.parse.quote(o.site_a))
    t = page_a.js("document.querySelector('#orders').innerText")
    check("A sees its open order's line shipped", "#1" in t and "shipped" in t, t[:300])
    page_a.screenshot(os.path.join(o.art, "portal-customer-order-shipped.png"))
    p.goto(o.base + "/sites/" + urllib.parse.quote(o.site_a))
    p.click("section.device[data-serial=%s] a.button" % o.device_a)
    check("staff: the special order form opens from the device's card",
          p.path() == "/orders/extra", p.path())
    p.fill({"input[name=quantity]": "2", "input[name=reason]": "<i class=pwn>trade show</i>"})
    p.click("#extra button")
    rows = p.js("[...document.querySelectorAll('tr.line')].map(e => e.innerText)")
    check("staff: the special order is placed (order #2, 2 cartridges)", p.path() == "/orders"
          and any("#2" in r and "2 \u00d7" in r for r in rows or []), rows)
    p.goto(o.base + "/agents?site=" + urllib.parse.quote(o.site_a))
    row = "tr.agent[data-id='%s']" % o.agent_a
    check("staff: site A's agent is listed, active",
          "active" in (p.js("document.querySelector(\"%s\").innerText" % row) or ""))
    p.click("%s form.revoke button" % row)
    t = p.js("document.querySelector(\"%s\").innerText" % row) or ""
    check("staff: the agent is revoked", "revoked" in t, t)
    p.screenshot(os.path.join(o.art, "portal-staff-agents.png"))


def customer_b_staff_actions(b, o, p):
    """B (signed in, CSP lifted for its scripts) tries each staff action: all refused."""
    for path in ("/orders", "/agents", "/orders/extra?site=%s&device=%s"
                 % (urllib.parse.quote(o.site_a), o.device_a)):
        p.goto(o.base + path)
        check("B opening the staff's %s is refused (%s)" % (path, p.status), p.status == 403
              and o.device_a not in p.text() and o.agent_a not in p.text())
    p.goto(o.base + "/requests")
    csrf = p.js("document.querySelector('input[name=csrf]').value")
    posts = [("/orders/1/deliver", "line=1"), ("/api/orders/1/deliver", ""),
             ("/orders/extra", "site=%s&device=%s&supply=1&quantity=9"
              % (urllib.parse.quote(o.site_a), o.device_a)),
             ("/agents/%s/revoke" % o.agent_a, "")]
    for path, form in posts:
        st = p.js("fetch(%r, {method: 'POST', headers: {'Content-Type': "
                  "'application/x-www-form-urlencoded'}, body: %r}).then(r => r.status)"
                  % (path, "csrf=%s&%s" % (csrf, form)))
        check("B posting %s with its own CSRF token is refused (%s)" % (path, st), st == 403)


def csrf_staff(b, o, staff_page):
    """A page on another origin posts the delivery of order 1 with the staff's browser."""
    staff_page.goto(o.evil)
    staff_page._forget()
    staff_page.js("document.forms[1].submit(), true")
    staff_page._loaded(60)
    check("the other origin's POST of a warehouse step with the staff's browser is refused "
          "(%s %s)" % (staff_page.status, staff_page.path()),
          staff_page.path() == "/signin" or staff_page.status == 403)


def customer_b(b, o, seen):
    p, _ = sign_in_customer(b, o, o.email_b, seen)
    t = p.text()
    check("B sees its own site only", o.site_b in t and o.site_a not in t, t[:300])
    p.goto(o.base + "/sites/" + urllib.parse.quote(o.site_a))
    check("B opening site A's URL gets 404", p.status == 404, p.status)
    p.screenshot(os.path.join(o.art, "portal-denied.png"))
    # the pages' CSP forbids fetch() (connect-src 'none'); B's own scripts are not bound by
    # it, so the test lifts it for B's tab and asks as an attacker's script would
    b.send("Page.setBypassCSP", {"enabled": True}, p.session)
    p.goto(o.base + "/")
    st = p.js("fetch('/api/sites/%s').then(r => r.status)" % urllib.parse.quote(o.site_a))
    check("B's fetch of /api/sites/A gets 404", st == 404, st)
    names = p.js("fetch('/api/sites').then(r => r.json()).then(d => d.sites.map(s => s.name))")
    check("B's /api/sites lists its site only: %s" % names, names == [o.site_b], names)
    for guess in ("/sites/%s" % urllib.parse.quote(o.site_a.upper()), "/sites/..%2F",
                  "/requests/toner?site=%s&device=%s" % (urllib.parse.quote(o.site_a),
                                                         o.device_a),
                  "/requests/contact?site=%s" % urllib.parse.quote(o.site_a), "/audit"):
        p.goto(o.base + guess)
        check("B guessing %s is denied (%s)" % (guess, p.status), p.status in (403, 404)
              and o.device_a not in p.text())
    st = p.js("fetch('/requests/1/approve', {method: 'POST'}).then(r => r.status)")
    check("B cannot approve (403: staff only)", st == 403, st)
    customer_b_staff_actions(b, o, p)


def csrf(b, o, page_a):
    page_a.goto(o.evil)
    check("the other origin's page loads", "evil" in page_a.text(), page_a.text()[:100])
    page_a._forget()
    page_a.js("document.forms[0].submit(), true")
    page_a._loaded(60)
    t = page_a.text()
    check("its cross-site POST of the toner form is refused (no session sent: %s %s)"
          % (page_a.status, page_a.path()), page_a.path() == "/signin" or page_a.status == 403,
          t[:200])


def reuse(b, o, link):
    p = b.page()
    p.goto(link)
    p.click("#continue")
    check("a used link does not sign in again (410)", p.status == 410 and p.path() != "/",
          (p.status, p.path()))


def main():
    ap = argparse.ArgumentParser()
    for a in ("chromium", "base", "allow", "maildir", "tmp", "art", "site-a", "site-b",
              "email-a", "email-b", "device-a", "device-b", "staff", "password", "evil",
              "agent-a"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--spki")
    ap.add_argument("--ca")
    o = ap.parse_args()
    seen = set()
    try:
        b = Browser(o.chromium, o.tmp, o.allow, o.spki, ca=o.ca)
    except CDPError as e:
        check("chromium starts", False, e)
        return 1
    try:
        page_a, link = customer_a(b, o, seen)
        staff_page = staff(b, o)
        staff_actions(b, o, staff_page, page_a)
        customer_b(b, o, seen)
        csrf(b, o, page_a)
        csrf_staff(b, o, staff_page)
        if link:
            reuse(b, o, link)
    except (CDPError, OSError) as e:
        check("the browser scenario ran to its end", False, e)
    finally:
        b.close()
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
