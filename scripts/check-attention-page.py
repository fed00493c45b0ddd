#!/usr/bin/env python3
"""Check attention pages (translate --attention-map) in headless Chromium.

For each page it opens the cross-attention, encoder and decoder views (through the page's URL
fragment, #sentence=K&tab=T, which the page's script reads), lets the script run, and checks in
the DOM Chromium dumps that the script drew the heatmap: one cell per weight, the row and column
labels of the pieces in the page's own embedded JSON (data-piece and the text shown), the layer
and head selectors with one option per layer and per head (+ "mean of heads"), the tabs, the
sentence selector, and that highlighting a row (#row=0, as hovering does) marks the source pieces
it attended to most. In a temporary copy of the page with a small driver script it then uses the
page's own event handlers (choose a head and a layer, hover a cell, leave, click the decoder tab) and
checks what was redrawn. Last it takes screenshots and checks, by decoding the PNG, that the
heatmap's region is painted and the page is not blank, with JavaScript on and off (the page carries
a static first view). Standard library only; about 10 s a page.

    scripts/check-attention-page.py PAGE.html|DIR... [--screenshot-dir DIR] [--expect-source TEXT]...

Exit status 0 when every check passed, 1 when one failed (each failure printed), 2 for a usage
error or a missing Chromium.
"""

import argparse
import html.parser
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

TABS = ("cross", "encoder", "decoder")

# Drives the page's own event handlers as a user would (pick a head and a layer, hover a cell,
# leave, open the decoder tab) and records what the page showed after each step.
INTERACTION = """<script>
(() => {
  const out = {};
  const svg = document.getElementById('heatmap');
  const change = (id, value) => {
    const select = document.getElementById(id);
    select.value = value;
    select.dispatchEvent(new Event('change'));
  };
  try {
    change('head', '0');
    out.head = svg.getAttribute('data-head');
    change('layer', '0');
    out.layer = svg.getAttribute('data-layer');
    const cells = svg.querySelectorAll('rect.cell');
    const cell = cells[Math.min(cells.length - 1, Number(svg.getAttribute('data-columns')))];
    out.hovered = cell.getAttribute('data-row');
    cell.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    out.active = [...svg.querySelectorAll('[data-active]')].map(e => e.getAttribute('data-row'));
    out.attended = svg.querySelectorAll('[data-attended]').length;
    svg.dispatchEvent(new MouseEvent('mouseleave'));
    out.activeAfterLeave = svg.querySelectorAll('[data-active]').length;
    document.querySelector('button[data-tab="decoder"]').click();
    out.tab = svg.getAttribute('data-tab');
    out.layerOptions = document.getElementById('layer').options.length;
    out.fragment = location.hash;
  } catch (error) {
    out.error = String(error);
  }
  document.body.setAttribute('data-interaction', JSON.stringify(out));
})();
</script>
"""
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


# ---------------------------------------------------------------------------------------------
# Chromium


def find_chromium(explicit):
    for candidate in ([explicit] if explicit else [os.environ.get("CHROMIUM")] + list(CHROMIUM_NAMES)):
        if candidate and (shutil.which(candidate) or os.path.isfile(candidate)):
            return shutil.which(candidate) or candidate
    usage_error("Chromium not found (looked for --chromium, $CHROMIUM, " + ", ".join(CHROMIUM_NAMES)
                + "). Install it: apt-get install -y chromium")


class Browser:
    def __init__(self, executable, window, timeout):
        self.executable = executable
        self.window = window
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="check-attention-page-")

    def run(self, url, *mode):
        """Runs headless Chromium on url; returns (stdout, stderr)."""
        command = [self.executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--force-device-scale-factor=1",
                   f"--user-data-dir={self.profile}", f"--window-size={self.window[0]},{self.window[1]}",
                   "--virtual-time-budget=2000", "--enable-logging=stderr", "--v=0"]
        command += list(mode) + [url]
        try:
            done = subprocess.run(command, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"Chromium did not finish within {self.timeout} s on {url}")
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            raise Failure(f"Chromium exited with status {done.returncode} on {url}:\n{stderr[-2000:]}")
        return done.stdout.decode("utf-8", "replace"), stderr

    def dom(self, url):
        stdout, stderr = self.run(url, "--dump-dom")
        # Console messages reach stderr with --enable-logging; an exception means the script broke.
        errors = [line for line in stderr.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
        if errors:
            raise Failure("the page's script failed:\n  " + "\n  ".join(errors))
        return stdout

    def screenshot(self, url, path):
        if os.path.exists(path):
            os.remove(path)
        self.run(url, f"--screenshot={path}")
        if not os.path.exists(path):
            raise Failure(f"Chromium wrote no screenshot for {url}")
        return decode_png(pathlib.Path(path).read_bytes())

    def close(self):
        shutil.rmtree(self.profile, ignore_errors=True)


class Failure(Exception):
    pass


def usage_error(message):
    print(f"check-attention-page: {message}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------
# The DOM Chromium dumps, as a small tree


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self, skip=("title",)):
        """Text content, without <title> children (tooltips are not what a label shows)."""
        return "".join(c if isinstance(c, str) else ("" if c.tag in skip else c.text(skip)) for c in self.children)

    def walk(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def classes(self):
        return self.attrs.get("class", "").split()


class TreeBuilder(html.parser.HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(markup):
    builder = TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


def by_id(root, ident):
    return next((n for n in root.walk() if n.attrs.get("id") == ident), None)


# ---------------------------------------------------------------------------------------------
# PNG, decoded with zlib and struct


def decode_png(data):
    """Returns (width, height, rows), rows a list of bytes in RGB (alpha dropped)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Failure("screenshot is not a PNG")
    position, idat, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise Failure(f"unexpected PNG format (depth {depth}, colour type {colour}, interlace {interlace})")
    raw = zlib.decompress(b"".join(idat))
    stride, bpp = width * channels, channels
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        previous = line
        if channels == 4:
            rgb = bytearray(width * 3)
            rgb[0::3], rgb[1::3], rgb[2::3] = line[0::4], line[1::4], line[2::4]
            rows.append(bytes(rgb))
        else:
            rows.append(bytes(line))
    return width, height, rows


def distinct_colours(image):
    width, _, rows = image
    colours = set()
    for row in rows:
        colours.update(zip(row[0::3], row[1::3], row[2::3]))
    return len(colours)


def painted_fraction(image, box):
    """The fraction of pixels in box (x, y, w, h) that are not near-white, and the box as clipped."""
    width, height, rows = image
    x, y, w, h = box
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return None, (x0, y0, x1 - x0, y1 - y0)
    painted = total = 0
    for row in rows[y0:y1]:
        part = row[x0 * 3:x1 * 3]
        for r, g, b in zip(part[0::3], part[1::3], part[2::3]):
            total += 1
            painted += not (r > 240 and g > 240 and b > 240)
    return painted / total, (x0, y0, x1 - x0, y1 - y0)


# ---------------------------------------------------------------------------------------------
# What the page should show, from its own embedded JSON


def embedded_data(markup):
    match = re.search(r'<script type="application/json" id="attention-data">(.*?)</script>', markup, re.S)
    if not match:
        raise Failure('no <script type="application/json" id="attention-data"> in the page')
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError as error:
        raise Failure(f"the embedded JSON does not parse: {error}")


def shown(piece):
    """The text a label shows: as the page's pieceLabel, "▁" as a leading "·"."""
    if piece.startswith("\u2581"):
        return "\u00b7" + piece[1:].replace("\u2581", "\u00b7")
    return piece.replace("\u2581", "\u00b7")


def expected_view(sentence, tab):
    """(matrices, row pieces, row class, column pieces, column class) of one tab."""
    if tab == "cross":
        m, rows, columns, classes = sentence["cross"], sentence["target"], sentence["source"], ("target-label", "source-label")
    elif tab == "encoder":
        m, rows, columns, classes = sentence["encoder"], sentence["source"], sentence["source"], ("source-label", "source-label")
    else:
        m, rows, columns, classes = sentence["decoder"], sentence["target"], ["<s>"] + sentence["target"], ("target-label", "target-label")
    pad = lambda pieces, count: [pieces[j] if j < len(pieces) else f"#{j}" for j in range(count)]
    return m, pad(rows, m["rows"]), classes[0], pad(columns, m["columns"]), classes[1]


def head_mean_row(m, layer, row):
    cells = [0.0] * m["columns"]
    for h in range(m["heads"]):
        base = ((layer * m["heads"] + h) * m["rows"] + row) * m["columns"]
        for j in range(m["columns"]):
            cells[j] += m["values"][base + j] / m["heads"]
    return cells


# ---------------------------------------------------------------------------------------------
# Checks


class Checker:
    def __init__(self, browser, args):
        self.browser, self.args = browser, args
        self.failures = 0

    def expect(self, condition, message):
        if not condition:
            raise Failure(message)

    def check_page(self, path):
        print(f"{path}:")
        markup = path.read_text(encoding="utf-8")
        data = embedded_data(markup)
        sentences = data.get("sentences", [])
        for reference in ("http://", "https://", "<link", " src="):
            self.expect(reference not in markup, f"the page refers to something outside it ({reference!r})")
        print("  ok  self-contained (no http(s):// URL, <link> or src=), embedded JSON parses"
              f" ({len(sentences)} sentence{'s' if len(sentences) != 1 else ''})")
        url = path.resolve().as_uri()
        if not sentences:
            dom = parse(self.browser.dom(url))
            svg = by_id(dom, "heatmap")
            self.expect(svg is not None and svg.attrs.get("data-rendered") == "js", "the script did not run on the empty page")
            print("  ok  empty page: the script ran, nothing to draw")
            return
        views = [(0, tab) for tab in TABS] + ([(len(sentences) - 1, "cross")] if len(sentences) > 1 else [])
        boxes = {}
        for index, tab in views:
            boxes[(index, tab)] = self.check_view(url, sentences, index, tab)
        self.check_interaction(path, sentences[0])
        self.check_screenshots(path, url, boxes)

    def check_interaction(self, path, sentence):
        cross, decoder = sentence["cross"], sentence["decoder"]
        if cross["rows"] == 0 or cross["layers"] == 0 or cross["heads"] == 0:
            print("  --  interaction not checked: the first sentence's cross-attention is empty")
            return
        driven = pathlib.Path(self.browser.profile) / f"{path.stem}-interaction.html"
        driven.write_text(path.read_text(encoding="utf-8").replace("</body>", INTERACTION + "</body>"), encoding="utf-8")
        body = next(n for n in parse(self.browser.dom(driven.as_uri())).walk() if n.tag == "body")
        self.expect("data-interaction" in body.attrs, "interaction: the driver script did not run")
        seen = json.loads(body.attrs["data-interaction"])
        self.expect("error" not in seen, f"interaction: {seen.get('error')}")
        self.expect(seen["head"] == "0" and seen["layer"] == "0",
                    f"interaction: choosing head 1 and layer 1 drew head {seen['head']} layer {seen['layer']}")
        self.expect(seen["active"] == [seen["hovered"]] and seen["attended"] > 0,
                    f"interaction: hovering a cell of row {seen['hovered']} marked rows {seen['active']} "
                    f"and {seen['attended']} attended columns")
        self.expect(seen["activeAfterLeave"] == 0, "interaction: leaving the heatmap kept the highlight")
        self.expect(seen["tab"] == "decoder" and seen["layerOptions"] == decoder["layers"],
                    f"interaction: the decoder tab drew {seen['tab']!r} with {seen['layerOptions']} layer options")
        self.expect("tab=decoder" in seen["fragment"], f"interaction: the URL fragment {seen['fragment']!r} "
                    "does not keep the view")
        print(f"  ok  interaction: head and layer selectors redraw, hovering row {seen['hovered']} highlights it and "
              f"{seen['attended']} attended columns, leaving clears it, the decoder tab redraws, the fragment follows")

    def check_view(self, url, sentences, index, tab):
        sentence = sentences[index]
        m, rows, row_class, columns, column_class = expected_view(sentence, tab)
        highlight = tab == "cross"
        fragment = f"#sentence={index}&tab={tab}" + ("&row=0" if highlight else "")
        dom = parse(self.browser.dom(url + fragment))
        name = f"sentence {index + 1}, {tab}"

        svg = by_id(dom, "heatmap")
        self.expect(svg is not None, f"{name}: no svg#heatmap")
        self.expect(svg.attrs.get("data-rendered") == "js", f"{name}: the page's script did not draw the heatmap "
                    f"(data-rendered={svg.attrs.get('data-rendered')!r})")
        self.expect(svg.attrs.get("data-tab") == tab, f"{name}: drew tab {svg.attrs.get('data-tab')!r}")
        self.expect(svg.attrs.get("data-layer") == str(m["layers"] - 1) and svg.attrs.get("data-head") == "mean",
                    f"{name}: the first view should be the last layer's mean of heads, is layer "
                    f"{svg.attrs.get('data-layer')} head {svg.attrs.get('data-head')}")
        cells = [n for n in svg.walk() if "cell" in n.classes()]
        self.expect(len(cells) == m["rows"] * m["columns"],
                    f"{name}: {len(cells)} cells drawn, expected {m['rows']} × {m['columns']}")

        for axis, pieces, cls in (("row", rows, row_class), ("column", columns, column_class)):
            labels = [n for n in svg.walk() if n.tag == "text" and n.attrs.get("data-axis") == axis]
            found = [n.attrs.get("data-piece") for n in labels]
            self.expect(found == pieces, f"{name}: {axis} labels {found} are not the pieces {pieces}")
            for label, piece in zip(labels, pieces):
                self.expect(cls in label.classes(), f"{name}: {axis} label {piece!r} lacks class {cls}")
                self.expect(label.text() == shown(piece),
                            f"{name}: {axis} label {piece!r} shows {label.text()!r}, expected {shown(piece)!r}")

        layer = by_id(dom, "layer")
        head = by_id(dom, "head")
        self.expect(layer is not None and head is not None, f"{name}: select#layer or select#head is missing")
        layer_options = [n for n in layer.walk() if n.tag == "option"]
        head_options = [n for n in head.walk() if n.tag == "option"]
        self.expect(len(layer_options) == m["layers"], f"{name}: {len(layer_options)} layer options for {m['layers']} layers")
        self.expect(len(head_options) == m["heads"] + 1 and head_options[0].attrs.get("value") == "mean",
                    f"{name}: head options should be 'mean' and {m['heads']} heads, are "
                    f"{[o.attrs.get('value') for o in head_options]}")
        tabs = {n.attrs["data-tab"]: n.attrs.get("aria-selected") for n in dom.walk()
                if n.tag == "button" and "data-tab" in n.attrs}
        self.expect(set(tabs) == set(TABS), f"{name}: tabs {sorted(tabs)}, expected {list(TABS)}")
        self.expect([t for t, selected in tabs.items() if selected == "true"] == [tab], f"{name}: selected tabs {tabs}")
        if len(sentences) > 1:
            select = by_id(dom, "sentence")
            options = [n for n in select.walk() if n.tag == "option"] if select else []
            self.expect(len(options) == len(sentences), f"{name}: select#sentence has {len(options)} options "
                        f"for {len(sentences)} sentences")

        if highlight and m["rows"] > 0 and m["layers"] > 0:
            weights = head_mean_row(m, m["layers"] - 1, 0)
            strongest = max(range(len(weights)), key=weights.__getitem__)
            row_labels = [n for n in svg.walk() if n.attrs.get("data-axis") == "row"]
            column_labels = [n for n in svg.walk() if n.attrs.get("data-axis") == "column"]
            self.expect("data-active" in row_labels[0].attrs, f"{name}: highlighting row 0 did not mark its label")
            self.expect("data-attended" in column_labels[strongest].attrs,
                        f"{name}: highlighting row 0 did not mark {columns[strongest]!r}, its strongest column "
                        f"({weights[strongest]:.3f})")
            self.expect(shown(rows[0]) in by_id(dom, "readout").text(), f"{name}: the readout does not name row 0")

        if tab == "cross" and index == 0:
            row_texts = [n.text() for n in svg.walk() if n.attrs.get("data-axis") == "row"]
            column_texts = [n.text() for n in svg.walk() if n.attrs.get("data-axis") == "column"]
            for text in self.args.expect_source:
                self.expect(any(text in t for t in column_texts), f"{name}: no source label shows {text!r}")
            for text in self.args.expect_target:
                self.expect(any(text in t for t in row_texts), f"{name}: no target label shows {text!r}")

        box = [int(v) for v in svg.attrs.get("data-grid-box", "0,0,0,0").split(",")]
        print(f"  ok  {name}: drawn by the script, {m['rows']}×{m['columns']} cells, {len(rows)} row and "
              f"{len(columns)} column labels, {m['layers']} layer / {m['heads'] + 1} head options, tabs"
              + (", row 0 highlight" if highlight else ""))
        return box

    def check_screenshots(self, path, url, boxes):
        directory = pathlib.Path(self.args.screenshot_dir) if self.args.screenshot_dir else pathlib.Path(self.browser.profile)
        directory.mkdir(parents=True, exist_ok=True)
        shots = [(f"{url}#sentence={i}&tab={t}", f"{path.stem}-{i + 1}-{t}.png", boxes[(i, t)], f"sentence={i}&tab={t}")
                 for i, t in boxes]
        # The static first view, in a copy of the page without its script (headless Chromium takes
        # no screenshot with scripting disabled); it is drawn where the script draws it.
        static = pathlib.Path(self.browser.profile) / f"{path.stem}-static.html"
        static.write_text(re.sub(r"<script>.*?</script>", "", path.read_text(encoding="utf-8"), flags=re.S),
                          encoding="utf-8")
        shots.append((static.as_uri(), f"{path.stem}-static.png", boxes[(0, "cross")], "without JavaScript"))
        for page_url, name, box, what in shots:
            target = directory / name
            image = self.browser.screenshot(page_url, str(target))
            fraction, clipped = painted_fraction(image, box)
            self.expect(fraction is not None, f"{what}: the heatmap {box} is outside the {image[0]}×{image[1]} "
                        "screenshot; try a larger --window-size")
            self.expect(fraction >= 0.75, f"{what}: only {fraction:.0%} of the heatmap region {clipped} is painted")
            colours = distinct_colours(image)
            self.expect(colours >= 16, f"{what}: the screenshot has only {colours} colours; it looks blank")
            kept = f", kept {target}" if self.args.screenshot_dir else ""
            print(f"  ok  screenshot {what}: {fraction:.0%} of the heatmap region painted, {colours} colours{kept}")


def pages(paths):
    found = []
    for name in paths:
        path = pathlib.Path(name)
        if path.is_dir():
            found += sorted(path.glob("*.html"))
        elif path.is_file():
            found.append(path)
        else:
            usage_error(f"{name}: no such file or directory")
    if not found:
        usage_error("no .html pages to check")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="HTML pages, or directories of them")
    parser.add_argument("--screenshot-dir", help="keep the screenshots (PAGE-SENTENCE-TAB.png, PAGE-static.png) here")
    parser.add_argument("--expect-source", action="append", default=[], metavar="TEXT",
                        help="a source label of the first sentence must show TEXT (repeatable)")
    parser.add_argument("--expect-target", action="append", default=[], metavar="TEXT",
                        help="a target label of the first sentence must show TEXT (repeatable)")
    parser.add_argument("--window-size", default="1200,900", help="browser window, W,H (default 1200,900)")
    parser.add_argument("--chromium", help="the Chromium executable (default: $CHROMIUM, then chromium on PATH)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per Chromium run (default 60)")
    args = parser.parse_args()
    try:
        window = tuple(int(v) for v in args.window_size.split(","))
        assert len(window) == 2
    except (ValueError, AssertionError):
        parser.error("--window-size takes W,H")

    files = pages(args.paths)
    browser = Browser(find_chromium(args.chromium), window, args.timeout)
    checker = Checker(browser, args)
    failed = []
    try:
        for path in files:
            try:
                checker.check_page(path)
            except Failure as failure:
                print(f"  FAIL {failure}")
                failed.append(path)
    finally:
        browser.close()
    if failed:
        print(f"check-attention-page: {len(failed)} of {len(files)} pages failed: " + ", ".join(map(str, failed)),
              file=sys.stderr)
        return 1
    print(f"check-attention-page: {len(files)} page{'s' if len(files) != 1 else ''} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
