# webdriver.py: a small W3C WebDriver client over chromedriver's HTTP API (imported by the web
# client tests): Debian's chromium, headless, no sandbox, no network beyond loopback, a fresh
# profile; every wait bounded.
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(Exception):
    pass


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Browser:
    def __init__(self, log_path):
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="dp-chromium.")
        self.log = open(log_path, "w")
        self.driver = subprocess.Popen(["chromedriver", "--port=%d" % self.port],
                                       stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        for _ in range(100):
            try:
                self._req("GET", "/status")
                break
            except Exception:
                time.sleep(0.1)
        else:
            self.close()
            raise WebDriverError("chromedriver did not start")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--window-size=1280,900",
                         "--user-data-dir=" + self.profile],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        v = self._req("POST", "/session", caps, timeout=60)
        self.sid = v["sessionId"]

    def _req(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            raise WebDriverError("%s %s: %s" % (method, path, e.read()[:500]))

    def s(self, method, path, body=None, timeout=30):
        return self._req(method, "/session/%s%s" % (self.sid, path), body, timeout)

    def get(self, url):
        self.s("POST", "/url", {"url": url}, timeout=60)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        v = self.s("POST", "/element", {"using": "css selector", "value": css})
        if not isinstance(v, dict) or ELEMENT not in v:
            raise WebDriverError("no element %s: %r" % (css, v))
        return v[ELEMENT]

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css, text):
        """Replaces the field's text as a user does (Ctrl+A, then typing); a trailing \t is a
        Tab, which leaves the field (its blur handlers run)."""
        el = self.find(css)
        text = text.replace("\t", "\ue004")
        self.s("POST", "/element/%s/value" % el, {"text": "\ue009a\ue000" + text})

    def console(self):
        """The browser's console lines since the last call (level, message)."""
        try:
            v = self.s("POST", "/se/log", {"type": "browser"})
        except WebDriverError:
            return []
        return [(e.get("level"), e.get("message")) for e in v or []]

    def wait(self, what, fn, timeout=20, step=0.2):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                last = fn()
                if last:
                    return last
            except WebDriverError as e:
                last = e
            time.sleep(step)
        raise WebDriverError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))

    def close(self):
        try:
            if getattr(self, "sid", None):
                self._req("DELETE", "/session/%s" % self.sid, timeout=20)
        except Exception:
            pass
        self.driver.terminate()
        try:
            self.driver.wait(10)
        except subprocess.TimeoutExpired:
            self.driver.kill()
            self.driver.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
