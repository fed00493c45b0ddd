#!/usr/bin/env python3
"""The issue's correctness bar for translate-server, with a real LibreTranslate client:

  * libretranslatepy (PyPI) gets the same translations as the translate command, and
    /languages lists en -> de (also through libretranslatepy);
  * 64 concurrent clients, each sending different lines, all get the translate command's answers;
  * malformed JSON, a wrong type and an over-limit request get 4xx JSON errors, and the server
    keeps serving;
  * SIGTERM: the server exits 0.

    .venv/bin/python tools/server_client_check.py                 # starts .build/release/translate-server
    .venv/bin/python tools/server_client_check.py --url http://127.0.0.1:5000   # a running server (tiny.bin, beam 4)

Prints one line per check and exits 1 if any fails.
"""
import argparse
import concurrent.futures
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_common import Server, cli_translate, post, test_lines  # noqa: E402

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(name)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running server to check (default: start one)")
    p.add_argument("--server", help="translate-server binary (default: .build/release, else .build/debug)")
    p.add_argument("--translate", help="translate binary (default: .build/release, else .build/debug)")
    p.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    args = p.parse_args()
    from libretranslatepy import LibreTranslateAPI

    with Server(args.server, url=args.url, args=["--char-limit", "2000"]) as server:
        url = server.url
        lt = LibreTranslateAPI(url + "/")
        languages = lt.languages()
        check("/languages lists en -> de", any(l["code"] == "en" and "de" in l["targets"] for l in languages), languages)

        lines = test_lines(8)
        expected = cli_translate(lines, args.translate)
        got = [lt.translate(line, "en", "de") for line in lines]
        check(f"libretranslatepy: {len(lines)} lines equal the translate command's", got == expected,
              [(g, e) for g, e in zip(got, expected) if g != e][:3])
        check("libretranslatepy: detect says en", lt.detect(lines[0])[0]["language"] == "en")

        many = test_lines(args.clients * 2, offset=8)
        many_expected = cli_translate(many, args.translate)

        def client(i):
            # Each client sends its own two lines, one request each.
            answers = []
            for line in many[2 * i:2 * i + 2]:
                status, body, raw = post(url, "/translate", {"q": line, "source": "en", "target": "de"})
                answers.append(body.get("translatedText") if status == 200 and body else f"HTTP {status} {raw[:80]!r}")
            return answers

        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            results = [a for answers in pool.map(client, range(args.clients)) for a in answers]
        wrong = [(m, r, e) for m, r, e in zip(many, results, many_expected) if r != e]
        check(f"{args.clients} concurrent clients, different lines: all {len(many)} answers equal the translate command's",
              not wrong, wrong[:3])

        status, body, _ = post(url, "/translate", b'{"q": "Hello", "source": ', "application/json")
        check("malformed JSON: 400 with a JSON error", status == 400 and "error" in (body or {}), (status, body))
        status, body, _ = post(url, "/translate", {"q": 42, "source": "en", "target": "de"})
        check("wrong type: 400 with a JSON error", status == 400 and "error" in (body or {}), (status, body))
        status, body, _ = post(url, "/translate", {"q": "a" * 2001, "source": "en", "target": "de"})
        check("over the character limit: 400 with a JSON error", status == 400 and "error" in (body or {}), (status, body))
        status, body, _ = post(url, "/translate", {"q": "x " * 600_000, "source": "en", "target": "de"})
        check("over the body limit: 413 with a JSON error", status == 413 and "error" in (body or {}), (status, body))
        status, body, _ = post(url, "/translate", {"q": lines[0], "source": "en", "target": "de"})
        check("still serving after bad requests", status == 200 and body["translatedText"] == expected[0], (status, body))

        if server.process:
            exit_status = server.stop()
            check("SIGTERM: exit status 0", exit_status == 0, exit_status)
            print("  server: " + (server.log.strip().splitlines() or [""])[-1])

    print(f"{'all checks passed' if not failures else f'{len(failures)} failed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
