#!/usr/bin/env python3
"""Bounded load tests of translate-server on loopback, with wrk (Debian package wrk):

  1. throughput (lines/s) and p50 / p99 latency at 1, 8 and 64 connections, batching on and
     off (--no-batching), each request one different line (a wrk Lua script cycles through
     --lines test lines);
  2. the bar: lines/s with 32 concurrent clients >= 4x one client at a time (batching on);
  3. RSS after --rss-requests requests (100,000), sampled as they go;
  4. SIGTERM during load (32 client threads): every request the server received is answered,
     the clients get every answer, and the server exits 0.

    .venv/bin/python tools/server_load.py [--duration 10] [--rss-requests 100000] [--skip rss,sigterm]

Uses .build/release/translate-server (build it with swift build -c release). Prints a Markdown
table and writes runs/server_load.json. Every run is bounded in time and sends traffic to
127.0.0.1 only.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_common import ROOT, Server, test_lines  # noqa: E402

LUA = r"""
-- Posts one line per request, cycling through the lines of a file (a different start per thread).
local lines = {}
for line in io.lines("%s") do lines[#lines + 1] = line end
local counter = 0
local thread_index = 0
setup = function(thread) thread:set("offset", thread_index * 97); thread_index = thread_index + 1 end
request = function()
  counter = counter + 1
  local line = lines[((counter + (offset or 0)) %% #lines) + 1]
  local body = '{"q": ' .. line .. ', "source": "en", "target": "de"}'
  return wrk.format("POST", "/translate", {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%%d errors=%%d status_errors=%%d duration_us=%%d p50_us=%%d p99_us=%%d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration, latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(url, connections, duration, lua_path):
    threads = min(connections, 2)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "30s",
                          "-s", lua_path, url], capture_output=True, text=True, check=True).stdout
    m = re.search(r"RESULT requests=(\d+) errors=(\d+) status_errors=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+)", out)
    if not m:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    requests, errors, status_errors, duration_us, p50, p99 = map(int, m.groups())
    return {"connections": connections, "requests": requests, "socket_errors": errors, "status_errors": status_errors,
            "lines_per_s": requests / (duration_us / 1e6), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def sigterm_during_load(server_binary, lines, clients=32, before=3.0, server_args=()):
    """Clients post lines on keep-alive connections until the server goes away; SIGTERM after
    `before` seconds. Counts the answers the clients got and compares with what the server says
    it received and answered."""
    with Server(server_binary, args=server_args) as server:
        stop = threading.Event()

        def client(i):
            got, refused, cut = 0, 0, 0
            k = i
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                    body = json.dumps({"q": lines[k % len(lines)], "source": "en", "target": "de"})
                    k += clients
                    conn.request("POST", "/translate", body, {"Content-Type": "application/json"})
                except (ConnectionError, OSError):
                    refused += 1  # the request did not reach the server: not accepted
                    conn = None
                    if stop.is_set():
                        break
                    time.sleep(0.05)
                    continue
                try:
                    response = conn.getresponse()
                    response.read()
                    if response.status == 200:
                        got += 1
                    else:
                        cut += 1
                    if response.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # Closed with no answer: a keep-alive connection the server closed as idle
                    # before this request reached it (HTTP/1.1 allows it; clients retry).
                    refused += 1
                    conn = None
                except (http.client.HTTPException, OSError):
                    cut += 1  # a response begun and not finished
                    conn = None
            return got, refused, cut

        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(client, i) for i in range(clients)]
            time.sleep(before)
            signalled = time.time()
            exit_status = server.stop(timeout=120)
            stopped_after = time.time() - signalled
            stop.set()
            results = [f.result() for f in futures]
    got = sum(r[0] for r in results)
    m = re.search(r"(\d+) requests received, (\d+) answered", server.log)
    received, answered = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    health = server.health_checks
    return {"exit_status": exit_status, "client_answers_200": got, "health_checks": health, "not_accepted": sum(r[1] for r in results),
            "cut_or_non_200": sum(r[2] for r in results), "server_received": received, "server_answered": answered,
            "seconds_to_exit": stopped_after,
            "ok": exit_status == 0 and received is not None and received == answered == got + health
            and sum(r[2] for r in results) == 0}


def rss_after(server_binary, lua_path, total, connections=64, server_args=(), limit_s=1800):
    """Runs wrk at `connections` until the server has answered `total` translate requests (or
    limit_s has passed); samples the server's RSS."""
    samples = []
    with Server(server_binary, args=server_args) as server:
        samples.append((0, server.rss_mib()))
        done = 0
        started = time.time()
        while done < total and time.time() - started < limit_s:
            r = run_wrk(server.url, connections, 10, lua_path)
            done += r["requests"]
            samples.append((done, server.rss_mib()))
            print(f"  {done} requests, RSS {samples[-1][1]:.0f} MiB", flush=True)
        server.stop()
    return {"requests": done, "samples_mib": samples, "seconds": time.time() - started}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", help="translate-server binary (default: .build/release)")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    p.add_argument("--lines", type=int, default=1000, help="different test lines to cycle through")
    p.add_argument("--connections", default="1,8,64", help="connection counts for the table")
    p.add_argument("--rss-requests", type=int, default=100_000)
    p.add_argument("--server-args", default="", help="extra translate-server options, e.g. '--beam-size 1', or "
                   "another model: '--model runs/parity/opus-mt-shape.f32.bin --languages en:de' (requests ask en → de)")
    p.add_argument("--rss-limit-s", type=int, default=1800, help="stop the RSS run after this many seconds")
    p.add_argument("--skip", default="", help="comma-separated: table, bar, rss, sigterm")
    args = p.parse_args()
    if not shutil.which("wrk"):
        sys.exit("error: wrk not found (apt-get install wrk)")
    skip = set(filter(None, args.skip.split(",")))
    extra = args.server_args.split()
    lines = test_lines(args.lines)
    tmp = tempfile.mkdtemp(prefix="server-load-")
    lines_path = os.path.join(tmp, "lines.json")
    with open(lines_path, "w") as f:
        f.write("\n".join(json.dumps(l) for l in lines) + "\n")  # each line a JSON string literal
    lua_path = os.path.join(tmp, "post.lua")
    with open(lua_path, "w") as f:
        f.write(LUA % lines_path)
    report = {"cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": "),
              "cores": os.cpu_count(), "duration_s": args.duration, "lines": len(lines), "server_args": extra}

    if "table" not in skip:
        report["table"] = []
        for batching in (True, False):
            with Server(args.server, args=extra + ([] if batching else ["--no-batching"])) as server:
                run_wrk(server.url, 8, 2, lua_path)  # warm up
                for c in map(int, args.connections.split(",")):
                    r = run_wrk(server.url, c, args.duration, lua_path)
                    r["batching"] = batching
                    report["table"].append(r)
                    print(f"batching {'on ' if batching else 'off'} c={c:3d}: {r['lines_per_s']:7.1f} lines/s, "
                          f"p50 {r['p50_ms']:7.1f} ms, p99 {r['p99_ms']:7.1f} ms, errors {r['socket_errors']}/{r['status_errors']}",
                          flush=True)
    if "bar" not in skip:
        with Server(args.server, args=extra) as server:
            run_wrk(server.url, 8, 2, lua_path)
            one = run_wrk(server.url, 1, args.duration, lua_path)
            many = run_wrk(server.url, 32, args.duration, lua_path)
        ratio = many["lines_per_s"] / one["lines_per_s"]
        report["bar"] = {"one_client": one, "32_clients": many, "ratio": ratio, "ok": ratio >= 4}
        print(f"bar: 32 clients {many['lines_per_s']:.1f} lines/s / 1 client {one['lines_per_s']:.1f} = {ratio:.2f}x "
              f"({'>=' if ratio >= 4 else '<'} 4x)", flush=True)
    if "rss" not in skip:
        report["rss"] = rss_after(args.server, lua_path, args.rss_requests, server_args=extra, limit_s=args.rss_limit_s)
        print(f"RSS after {report['rss']['requests']} requests: {report['rss']['samples_mib'][-1][1]:.0f} MiB "
              f"(at start {report['rss']['samples_mib'][0][1]:.0f} MiB)", flush=True)
    if "sigterm" not in skip:
        report["sigterm"] = s = sigterm_during_load(args.server, lines, server_args=extra)
        print(f"SIGTERM during load: exit {s['exit_status']} after {s['seconds_to_exit']:.2f} s; server received "
              f"{s['server_received']}, answered {s['server_answered']}; clients got {s['client_answers_200']} answers, "
              f"{s['cut_or_non_200']} cut or non-200, {s['not_accepted']} not accepted -> {'ok' if s['ok'] else 'FAIL'}",
              flush=True)

    if "table" in report:
        print("\n| batching | connections | lines/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|")
        for r in report["table"]:
            print(f"| {'on' if r['batching'] else 'off'} | {r['connections']} | {r['lines_per_s']:.1f} | {r['p50_ms']:.1f} | "
                  f"{r['p99_ms']:.1f} | {r['socket_errors'] + r['status_errors']} |")
    os.makedirs(os.path.join(ROOT, "runs"), exist_ok=True)
    name = "server_load" + ("_" + "_".join(os.path.basename(a.strip("-")).replace(":", "-") for a in extra)
                            if extra else "") + ".json"
    with open(os.path.join(ROOT, "runs", name), "w") as f:
        json.dump(report, f, indent=1)
    shutil.rmtree(tmp, ignore_errors=True)
    failed = ("bar" in report and not report["bar"]["ok"]) or ("sigterm" in report and not report["sigterm"]["ok"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
