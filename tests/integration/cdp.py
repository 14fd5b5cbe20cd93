"""cdp.py: a small driver of headless Chromium (Debian's package) through the Chrome
DevTools Protocol, over python3-websocket. For the portal's browser test.

    b = Browser(chromium, tmpdir, allow_host="127.58.14.1,127.58.14.3", spki="BASE64")
    b = Browser(chromium, tmpdir, allow_host="127.58.14.1", ca="tls/ca.pem")  # or a CA
    p = b.page()                       # a fresh browser context: its own cookies
    p.goto("https://127.58.14.1:18800/signin")
    p.js("document.title")
    p.click("#customer button")        # and waits for the page it loads
    p.screenshot("out.png")
    b.close()

Chromium is kept off the network: a dead proxy for everything but loopback, a host
resolver that resolves nothing but the allowed address, background services off; the
test's own certificate is accepted by its SPKI pin only (--ignore-certificate-errors-spki-
list), or, with ca=PEM, by a test CA that this browser's own NSS database trusts (the
way a user's browser trusts a real certificate: no certificate error is ignored). Every
wait has a deadline.
"""
import base64
import json
import os
import subprocess
import time

import websocket


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, chromium, tmpdir, allow_host, spki=None, timeout=60, ca=None):
        self.dir = os.path.join(tmpdir, "chromium")
        os.makedirs(self.dir, exist_ok=True)
        env = dict(os.environ)
        if ca:
            env["HOME"] = self._trust(tmpdir, ca, timeout)
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--user-data-dir=" + self.dir, "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--disable-extensions",
                "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                "--disable-breakpad", "--no-pings", "--proxy-server=http://127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND" +
                "".join(", EXCLUDE " + h for h in allow_host.split(",")),
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                "--window-size=1280,1000", "about:blank"]
        if spki:
            args.insert(1, "--ignore-certificate-errors-spki-list=" + spki)
        self.log = open(os.path.join(tmpdir, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        port_file = os.path.join(self.dir, "DevToolsActivePort")
        deadline = time.time() + timeout
        while not os.path.exists(port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise CDPError("chromium did not start (see chromium.log)")
            time.sleep(0.1)
        time.sleep(0.2)
        port, path = open(port_file).read().split()[:2]
        self.ws = websocket.create_connection("ws://127.0.0.1:%s%s" % (port, path),
                                              timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events = []

    @staticmethod
    def _trust(tmpdir, ca, timeout):
        """A home whose NSS database (Chromium's on Linux) trusts the CA ca for servers."""
        home = os.path.join(tmpdir, "chromium-home")
        db = os.path.join(home, ".pki", "nssdb")
        os.makedirs(db, exist_ok=True)
        for cmd in (["certutil", "-N", "-d", "sql:" + db, "--empty-password"],
                    ["certutil", "-A", "-d", "sql:" + db, "-n", "asr test CA", "-t", "C,,",
                     "-i", ca]):
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout)
            if r.returncode != 0 and "-N" not in cmd:
                raise CDPError("certutil: %s" % r.stdout.decode("utf-8", "replace")[:300])
        return home

    def _recv(self, deadline):
        self.ws.settimeout(max(0.1, deadline - time.time()))
        return json.loads(self.ws.recv())

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self._recv(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)
        raise CDPError("%s: no answer in %d s" % (method, timeout))

    def wait_event(self, method, session, timeout=60):
        deadline = time.time() + timeout
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == session:
                    return self.events.pop(i)
            if time.time() > deadline:
                raise CDPError("no %s in %d s" % (method, timeout))
            m = self._recv(deadline)
            if "method" in m:
                self.events.append(m)

    def page(self):
        ctx = self.send("Target.createBrowserContext")["browserContextId"]
        target = self.send("Target.createTarget",
                           {"url": "about:blank", "browserContextId": ctx})["targetId"]
        session = self.send("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        p = Page(self, session)
        self.send("Page.enable", session=session)
        self.send("Network.enable", session=session)
        self.send("Runtime.enable", session=session)
        return p

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


class Page:
    def __init__(self, browser, session):
        self.b = browser
        self.session = session
        self.status = None  # the HTTP status of the last document loaded

    def _forget(self):
        self.b.events = [m for m in self.b.events if m.get("sessionId") != self.session]

    def _loaded(self, timeout):
        self.status = None
        deadline = time.time() + timeout
        while True:
            m = None
            for i, e in enumerate(self.b.events):
                if e.get("sessionId") == self.session and e.get("method") in (
                        "Page.loadEventFired", "Network.responseReceived"):
                    m = self.b.events.pop(i)
                    break
            if m is None:
                if time.time() > deadline:
                    raise CDPError("page did not load in %d s" % timeout)
                e = self.b._recv(deadline)
                if "method" in e:
                    self.b.events.append(e)
                continue
            if m["method"] == "Network.responseReceived":
                if m["params"].get("type") == "Document":
                    self.status = m["params"]["response"]["status"]
                continue
            return

    def goto(self, url, timeout=60):
        self._forget()
        r = self.b.send("Page.navigate", {"url": url}, self.session)
        if r.get("errorText"):
            raise CDPError("navigate %s: %s" % (url, r["errorText"]))
        self._loaded(timeout)

    def js(self, expression, timeout=60):
        r = self.b.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True}, self.session, timeout)
        if "exceptionDetails" in r:
            raise CDPError("js %r: %s" % (expression, r["exceptionDetails"].get("text")))
        return r.get("result", {}).get("value")

    def click(self, selector, timeout=60):
        """Clicks the element and waits for the document it loads."""
        self._forget()
        self.js("document.querySelector(%s).click(), true" % json.dumps(selector))
        self._loaded(timeout)

    def fill(self, fields):
        for selector, value in fields.items():
            self.js("document.querySelector(%s).value = %s, true"
                    % (json.dumps(selector), json.dumps(value)))

    def text(self):
        return self.js("document.body ? document.body.innerText : ''")

    def path(self):
        return self.js("location.pathname")

    def screenshot(self, path):
        data = self.b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport":
                                                      True}, self.session)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
