#!/usr/bin/env python3
"""Checks translate-server's web page in headless Chromium (Debian's chromium), as a person would
use it: types a sentence into the text box key by key, waits for the translation to appear
(debounced, as you type) and compares it with the translate command's; ticks the Attention box and checks the attention view
(its words, and that hovering a translated word lights its source words as the API's weights say);
asks for alternatives and checks they are listed; takes a screenshot and checks it is not blank. Drives Chromium through
the DevTools protocol over a WebSocket, with the standard library only (no Selenium, no Node).

    python3 tools/page_check.py [--server BIN] [--translate BIN] [--screenshot page.png]

Exits 1 with a message when a check fails. scripts/test.sh runs it after the Swift tests.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_common import Server, cli_translate, free_port  # noqa: E402


class WebSocket:
    """A minimal RFC 6455 client: text frames, client masking, no extensions."""

    def __init__(self, url):
        assert url.startswith("ws://")
        host_port, path = url[5:].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("WebSocket handshake: connection closed")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("WebSocket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("WebSocket closed by the browser")
            if opcode in (0x9, 0xA):  # ping / pong: not used by DevTools
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()


class DevTools:
    """Commands to one page target of Chromium's DevTools protocol."""

    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, seconds, what):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out after {seconds} s waiting for {what}")

    def type_text(self, text, delay=0.03):
        """Key by key, as typing: each character is a keyDown with its text (an input event)."""
        for ch in text:
            self.call("Input.dispatchKeyEvent", type="keyDown", text=ch, unmodifiedText=ch, key=ch)
            self.call("Input.dispatchKeyEvent", type="keyUp", key=ch)
            time.sleep(delay)


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), f"PNG depth {depth} color type {color}"
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def not_blank(png):
    """The screenshot shows something: many colours, and a good share of pixels unlike the most
    common one (the background)."""
    width, height, channels, rows = png_pixels(png)
    counts = {}
    for row in rows[::4]:
        for x in range(0, width * channels, channels * 4):
            pixel = row[x:x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    total = sum(counts.values())
    background = max(counts.values())
    return len(counts) >= 20 and (total - background) / total >= 0.02, f"{len(counts)} colours, " \
        f"{100 * (total - background) / total:.1f}% not background, {width}x{height}"


SHOWN = "document.getElementById('translation').textContent"
STATUS = "document.getElementById('status').textContent"


WORDS = "[...document.querySelectorAll('#attention .words.%s span')].map(s => s.textContent)"


def check_attention(page, url, sentence, translation, screenshot):
    """The attention view lists the sentence's words and the translation's, and hovering a
    translated word (a real mouse move) lights the source words by the API's weights: the
    strongest one fully."""
    request = urllib.request.Request(url + "/translate", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"q": sentence, "source": "en", "target": "de",
                                                      "attention": True}).encode())
    with urllib.request.urlopen(request, timeout=30) as r:
        [api] = json.load(r)["attention"]
    assert (api["line"], api["start"], api["end"]) == (0, 0, len(sentence.encode("utf-16-le")) // 2), f"the sentence's place: {api}"
    # Attention costs time, so the page asks for it only once its box is ticked (a real click).
    assert page.evaluate(WORDS % "target") == [], "the attention view shows before its box is ticked"
    box = page.evaluate("(r => [r.x + r.width / 2, r.y + r.height / 2])("
                        "document.getElementById('show-attention').getBoundingClientRect())")
    for kind in ("mousePressed", "mouseReleased"):
        page.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
    targets = page.wait_for(f"(w => w.length ? w : null)({WORDS % 'target'})", 30, "the attention view")
    sources = page.evaluate(WORDS % "source")
    assert sources == sentence.split(), f"attention source words {sources} != the sentence's {sentence.split()}"
    assert targets == translation.split(), f"attention target words {targets} != the translation's {translation.split()}"
    assert (api["source"], api["target"]) == (sources, targets), "the page's words are not the API's"
    # The translated word that attends most clearly to one source word.
    t = max(range(len(targets)), key=lambda i: max(api["weights"][i]))
    row = api["weights"][t]
    strongest = [j for j in range(len(sources)) if row[j] == max(row)]  # ties all light fully
    box = page.evaluate(f"(r => [r.x + r.width / 2, r.y + r.height / 2])(document.querySelectorAll("
                        f"'#attention .words.target span')[{t}].getBoundingClientRect())")
    page.call("Input.dispatchMouseEvent", type="mouseMoved", x=box[0], y=box[1])
    lit = page.wait_for("(b => b.some(x => x) ? b : null)([...document.querySelectorAll('#attention .words.source span')]"
                        ".map(s => s.style.background))", 10, "source words lit on hover")
    full = [j for j, b in enumerate(lit) if b.startswith("rgb(")]  # the browser drops an alpha of 1
    assert full == strongest, (f"hovering {targets[t]!r} fully lights {[sources[j] for j in full]}, "
                               f"the API's strongest is {[sources[j] for j in strongest]}")
    shot = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
    with open(screenshot, "wb") as f:
        f.write(shot)
    print(f"ok   attention: hovering {targets[t]!r} lights {[sources[j] for j in strongest]} most "
          f"(weight {max(row)}); screenshot {screenshot}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", help="translate-server binary (default: .build/release, else .build/debug)")
    p.add_argument("--translate", help="translate binary (default: .build/release, else .build/debug)")
    p.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"),
                   help="Chromium binary (Debian package chromium)")
    p.add_argument("--screenshot", default=os.path.join(tempfile.gettempdir(), "translate-server-page.png"),
                   help="where to write the screenshot")
    args = p.parse_args()
    if not args.chromium:
        sys.exit("error: chromium not found (apt-get install chromium)")
    sentence = "Two children are playing in the sand at the beach."
    expected = cli_translate([sentence], args.translate)[0]
    expected_beam = cli_translate([sentence], args.translate, ["--n-best", "3", "--output-format", "json"])[0]
    alternatives = [h["translation"] for h in json.loads(expected_beam)["nbest"]][1:]

    profile = tempfile.mkdtemp(prefix="page-check-")
    port = free_port()
    with Server(args.server) as server:
        browser = subprocess.Popen([args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                                    "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                                    f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
                                    "--window-size=1200,800", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline, targets = time.time() + 30, []
            while time.time() < deadline and not targets:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                        targets = [t for t in json.load(r) if t.get("type") == "page"]
                except OSError:
                    time.sleep(0.2)
            if not targets:
                raise AssertionError("Chromium's DevTools did not come up within 30 s")
            page = DevTools(targets[0]["webSocketDebuggerUrl"])
            page.call("Page.enable")
            page.call("Runtime.enable")
            page.call("Page.navigate", url=server.url + "/")
            page.wait_for("document.readyState === 'complete' && document.getElementById('target').options.length > 0",
                          20, "the page and its language list")
            page.evaluate("document.getElementById('text').focus()")
            page.type_text(sentence)
            typed = page.evaluate("document.getElementById('text').value")
            assert typed == sentence, f"the text box holds {typed!r}"
            try:
                shown = page.wait_for(
                    f"(t => t === {json.dumps(expected)} ? t : null)(document.getElementById('translation').textContent)",
                    60, f"the translation {expected!r}")
            except AssertionError as e:
                raise AssertionError(f"{e}; the page shows "
                                     f"{page.evaluate(SHOWN)!r}, status {page.evaluate(STATUS)!r}") from None
            print(f"ok   typed {sentence!r}; the page shows {shown!r}, as the translate command")
            check_attention(page, server.url, sentence, expected, args.screenshot.replace(".png", "-attention.png"))
            # Alternatives on request.
            page.evaluate("(s => { s.value = '2'; s.dispatchEvent(new Event('change')); })"
                          "(document.getElementById('alternatives-count'))")
            listed = page.wait_for("(l => l.length === 2 ? l : null)([...document.querySelectorAll('#alternatives li')]"
                                   ".map(li => li.textContent))", 60, "two alternatives")
            assert listed == alternatives[:2], f"alternatives {listed} != translate --n-best 3: {alternatives[:2]}"
            print(f"ok   alternatives listed: {listed}")
            shot = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
            with open(args.screenshot, "wb") as f:
                f.write(shot)
            ok, detail = not_blank(shot)
            assert ok, f"the screenshot looks blank: {detail}"
            print(f"ok   screenshot {args.screenshot}: {detail}")
        finally:
            browser.terminate()
            try:
                browser.wait(10)
            except subprocess.TimeoutExpired:
                browser.kill()
            shutil.rmtree(profile, ignore_errors=True)
    print("page check passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
