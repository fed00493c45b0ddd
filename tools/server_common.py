"""Shared by the translate-server scripts (server_client_check.py, server_load.py, page_check.py):
start and stop a server, translate lines with the translate command, pick test lines. Standard
library only."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "tiny.bin")
MULTI30K = os.path.join(ROOT, "..", "shared", "data", "multi30k", "test_2016_flickr.en")


def binary(name, preferred=None):
    """The release build of a product if there is one, else the debug build."""
    if preferred:
        return preferred
    for config in ("release", "debug"):
        path = os.path.join(ROOT, ".build", config, name)
        if os.path.exists(path):
            return path
    sys.exit(f"error: no build of {name}: run swift build -c release --product {name}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lines(count, offset=0):
    """count different English lines: Multi30k test sentences when ../shared has them, else
    sentences built from a template."""
    if os.path.exists(MULTI30K):
        with open(MULTI30K, encoding="utf-8") as f:
            lines = [l.strip() for l in f if l.strip()]
        if len(lines) >= offset + count:
            return lines[offset:offset + count]
    subjects = ["A man", "A woman", "Two children", "A dog", "A girl", "An old man", "Three people", "A boy"]
    actions = ["is walking", "is sitting", "is playing", "is running", "is standing", "is talking", "is smiling", "is waiting"]
    places = ["on the beach", "in the park", "on the street", "in a kitchen", "near a lake", "in the snow", "at a market",
              "on a bench"]
    lines = [f"{s} {a} {p}." for p in places for a in actions for s in subjects]
    return lines[offset:offset + count]


def cli_translate(lines, translate=None, extra=()):
    """The translate command's output for lines (one per line)."""
    out = subprocess.run([binary("translate", translate), "--model", MODEL, *extra], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True)
    return out.stdout.split("\n")[:len(lines)]


class Server:
    """translate-server on a free loopback port, started in __enter__, stopped with SIGTERM in
    stop() (its exit status and log are kept)."""

    def __init__(self, binary_path=None, args=(), port=None, url=None):
        self.binary = None if url else binary("translate-server", binary_path)
        self.args = list(args)
        self.port = port or free_port()
        self.url = url or f"http://127.0.0.1:{self.port}"
        self.process = None
        self.exit_status = None
        self.log = ""
        self.health_checks = 0  # /health requests answered while waiting for the server (it counts them)

    def __enter__(self):
        if self.binary is None:
            wait_ready(self.url, 5)
            return self
        self.log_file = open(f"/tmp/translate-server-{self.port}.log", "w+")
        model = [] if "--model" in self.args else ["--model", MODEL]  # models/tiny.bin unless args name one
        self.process = subprocess.Popen([self.binary, *model, "--port", str(self.port), *self.args],
                                        stdout=self.log_file, stderr=subprocess.STDOUT)
        try:
            self.health_checks = wait_ready(self.url, 60, self.process)
        except Exception:
            self.stop()
            print(self.log, file=sys.stderr)
            raise
        return self

    def pid(self):
        return self.process.pid if self.process else None

    def rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self, timeout=60):
        if self.process is None or self.exit_status is not None:
            return self.exit_status
        self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.exit_status = self.process.wait()
        self.log_file.seek(0)
        self.log = self.log_file.read()
        self.log_file.close()
        return self.exit_status

    def __exit__(self, *exc):
        self.stop()


def wait_ready(url, seconds, process=None):
    """Waits for /health to answer 200; returns how many requests the server answered meanwhile."""
    deadline, answered = time.time() + seconds, 0
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"translate-server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                answered += 1
                if r.status == 200:
                    return answered
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            time.sleep(0.1)
    raise RuntimeError(f"{url}/health did not answer within {seconds} s")


def post(url, path, body, content_type="application/json", timeout=60):
    """(status, parsed JSON or None, raw bytes) of a POST."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw), raw
    except ValueError:
        return status, None, raw
