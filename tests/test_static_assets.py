"""Static files and templates: nothing a page loads may come from another host.

Privacy rule: no page makes a third-party request (no CDN, web font, analytics or remote
image). These tests read the files under ``static/`` and ``templates/``; they need no app.

The scan is strict: any absolute URL (``http://``, ``https://``, ``ws://``, ``wss://``,
``ftp://``) fails, and so does a protocol-relative ``//host`` in a place that loads a
resource (``src=``, ``href=``, ``action=``, ``url(...)``, ``@import`` ...). A link to another
site (a help line, the quick-exit destination) belongs in configuration, not in a template.
The exceptions, each with its reason, are:

* vendor ``LICENSE`` files: licence text, never served to a page as code;
* XML namespace names in SVG (``xmlns="http://www.w3.org/2000/svg"``): identifiers that no
  browser fetches;
* the vendored Socket.IO client, whose only URLs are an error message's link to the v2-to-v3
  migration guide and the ``"https://"`` prefix it puts on a scheme-less URL. The test pins
  that exact set, so an update that brings a new URL fails until someone reads it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
SITE_CSS = STATIC / "css" / "site.css"
SOCKETIO_DIR = STATIC / "vendor" / "socket.io"
SOCKETIO_JS = SOCKETIO_DIR / "socket.io.min.js"

ABSOLUTE_URL = re.compile(r"(?i)\b(?:https?|wss?|ftp)://[^\s\"'<>()\\`]*")
PROTOCOL_RELATIVE = re.compile(
    r"""(?ix)
    (?: \b(?:src|srcset|href|xlink:href|action|formaction|poster|data|background|manifest
            |ping|content)\s*=\s*["']?\s*
      | \burl\(\s*["']?\s*
      | @import\s+(?:url\(\s*)?["']?\s*
    )//"""
)
XML_NAMESPACE = re.compile(
    r"""\bxmlns(?::\w+)?\s*=\s*["']http://www\.w3\.org/(?:2000/svg|1999/xlink|1999/xhtml)["']"""
)
SOCKETIO_URLS = {
    "https://socket.io/docs/v3/migrating-from-2-x-to-3-0/",
    "https://",
}
FONT_SUFFIXES = {".woff", ".woff2", ".ttf", ".otf", ".eot"}

# The class names templates rely on, as documented at the top of site.css.
CSS_CLASSES = """
site-header site-nav site-main site-footer quick-exit skip-link visually-hidden discreet
flash flash-error flash-info flash-success
form field field-hint field-error inline-form button button-secondary button-danger
card list meta badge pagination codes expires hidden-item
space-list thread-list post post-body post-meta edited cw
chat chat-log chat-msg chat-msg-author chat-msg-time chat-form presence conn-state
""".split()
CONN_STATES = ("connected", "connecting", "reconnecting", "offline")


def served_files() -> list[Path]:
    """Every file under static/ and templates/ (templates may not exist yet)."""
    files = []
    for folder in (STATIC, TEMPLATES):
        if folder.is_dir():
            files.extend(p for p in sorted(folder.rglob("*")) if p.is_file())
    return files


def is_vendor_licence(path: Path) -> bool:
    return "vendor" in path.relative_to(ROOT).parts and path.name.upper().startswith("LICENSE")


def read_text(path: Path) -> str | None:
    """The file as text, or None for a binary file (an image can hold no URL to load)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def foreign_references(text: str) -> list[str]:
    """Absolute URLs and protocol-relative resource URLs in text, namespace names excepted."""
    text = XML_NAMESPACE.sub("", text)
    found = ABSOLUTE_URL.findall(text)
    found += [m.group(0) for m in PROTOCOL_RELATIVE.finditer(text)]
    return found


def css_rules(css: str) -> str:
    """The stylesheet without its comments."""
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


@pytest.mark.parametrize(
    "sample",
    [
        '<script src="https://cdn.example/app.js"></script>',
        "<img src=//tracker.example/p.gif>",
        '<link rel="stylesheet" href="//fonts.example/css">',
        "body { background: url(//cdn.example/bg.png) }",
        "body { background: url('http://cdn.example/bg.png') }",
        '@import "https://fonts.example/x.css";',
        "@import url(//fonts.example/x.css);",
        '<form action="https://collector.example/">',
        "new WebSocket('wss://other.example/ws')",
        'fetch("HTTPS://analytics.example/hit")',
        '<svg xmlns="http://www.w3.org/2000/svg"><image href="//evil.example/a.png"/></svg>',
    ],
)
def test_detector_catches_foreign_references(sample: str) -> None:
    """Positive control: the scanner finds every kind of request we forbid."""
    assert foreign_references(sample)


@pytest.mark.parametrize(
    "sample",
    [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"></svg>',
        '<script src="/static/js/quickexit.js" defer></script>',
        "// a JavaScript comment",
        "body { background: url(data:image/png;base64,AAAA) }",
        "<a href=\"{{ url_for('static', filename='x.css') }}\">",
    ],
)
def test_detector_passes_local_references(sample: str) -> None:
    assert not foreign_references(sample)


def test_static_folder_has_the_expected_files() -> None:
    """Guard against a scan that passes because it found nothing to read."""
    names = {p.relative_to(STATIC).as_posix() for p in served_files() if STATIC in p.parents}
    assert {
        "css/site.css",
        "js/quickexit.js",
        "js/confirm.js",
        "vendor/socket.io/socket.io.min.js",
        "vendor/socket.io/LICENSE",
        "vendor/socket.io/VERSION",
        "vendor/README.md",
        "img/favicon.svg",
        "img/favicon-discreet.svg",
        "robots.txt",
    } <= names


SERVABLE = {".css", ".js", ".svg", ".png", ".txt", ".md", ""}  # "" = vendor LICENSE, VERSION


def test_static_folder_holds_only_what_pages_load() -> None:
    """Everything under static/ is public to anyone: a build artefact left there (a wheel
    was once) is served as it is. Only the kinds of file a page loads, or a licence."""
    strays = sorted(
        p.relative_to(STATIC).as_posix()
        for p in STATIC.rglob("*")
        if p.is_file() and p.suffix.lower() not in SERVABLE
    )
    assert not strays, strays


def test_no_file_refers_to_another_host() -> None:
    offenders = []
    for path in served_files():
        if is_vendor_licence(path) or path == SOCKETIO_JS:
            continue
        text = read_text(path)
        if text is None:
            continue
        for ref in foreign_references(text):
            offenders.append(f"{path.relative_to(ROOT)}: {ref}")
    assert not offenders, "references to other hosts:\n" + "\n".join(offenders)


def test_vendored_socketio_contains_only_the_known_urls() -> None:
    text = SOCKETIO_JS.read_text(encoding="utf-8")
    assert set(ABSOLUTE_URL.findall(text)) == SOCKETIO_URLS
    assert not list(PROTOCOL_RELATIVE.finditer(text))


def test_no_web_fonts() -> None:
    fonts = [p for p in served_files() if p.suffix.lower() in FONT_SUFFIXES]
    assert not fonts


def read_version_file() -> dict[str, str]:
    fields = {}
    for line in (SOCKETIO_DIR / "VERSION").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def test_vendored_socketio_matches_its_version_file() -> None:
    fields = read_version_file()
    assert fields["package"] == "socket.io-client"
    assert re.fullmatch(r"4\.8\.\d+", fields["version"])
    assert hashlib.sha256(SOCKETIO_JS.read_bytes()).hexdigest() == fields["sha256"]
    # The banner the build puts on line 2 names the same version.
    assert f"Socket.IO v{fields['version']}\n" in SOCKETIO_JS.read_text(encoding="utf-8")[:200]
    assert "MIT" in (SOCKETIO_DIR / "LICENSE").read_text(encoding="utf-8")


def test_site_css_is_small_and_self_contained() -> None:
    css = SITE_CSS.read_text(encoding="utf-8")
    assert len(css.encode()) < 16 * 1024
    rules = css_rules(css)
    assert "@import" not in rules
    assert "@font-face" not in rules
    for target in re.findall(r"url\(\s*['\"]?([^'\")]*)", rules):
        assert target.startswith("data:") or not re.match(r"(?i)([a-z][a-z0-9+.-]*:|//)", target)


def test_site_css_documents_and_styles_every_class() -> None:
    css = SITE_CSS.read_text(encoding="utf-8")
    # The class map lives in docs/FRONTEND.md (the shipped file keeps no long notes).
    doc = (SITE_CSS.parents[2] / "docs" / "FRONTEND.md").read_text(encoding="utf-8")
    header = doc[doc.index("## `site.css`") :].split("\n## ", 1)[0]
    rules = css_rules(css)
    for name in CSS_CLASSES:
        assert re.search(rf"\.{name}(?![\w-])", header), f".{name} not documented"
        assert re.search(rf"\.{name}(?![\w-])", rules), f".{name} not styled"
    assert "details.cw" in rules
    assert "body.discreet" in rules
    for state in CONN_STATES:
        assert state in header
    assert re.search(r"\.conn-state\[data-state=connected\]", rules)
    assert re.search(r"\.conn-state\[data-state=offline\]", rules)
    assert re.search(r"\.conn-state\[data-state\$=connecting\]", rules)  # and reconnecting


def test_site_css_respects_user_preferences() -> None:
    rules = css_rules(SITE_CSS.read_text(encoding="utf-8"))
    assert "@media (prefers-reduced-motion: reduce)" in rules
    assert "@media (prefers-color-scheme: dark)" in rules
    quick_exit = re.search(r"a\.quick-exit \{(.*?)\}", rules, flags=re.S).group(1)
    assert "min-height: 44px" in quick_exit
    # It sits in the header's first row, which stays at the top (sticky) and is opaque.
    header = re.search(r"\.site-header \{(.*?)\}", rules, flags=re.S).group(1)
    assert "position: sticky" in header and "top: 0" in header and "background" in header


@pytest.mark.parametrize("name", ["favicon.svg", "favicon-discreet.svg"])
def test_favicons_are_tiny_inert_svg(name: str) -> None:
    path = STATIC / "img" / name
    assert path.stat().st_size < 1024
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert not tags & {"script", "image", "foreignObject", "use", "a", "style"}
    assert all("href" not in attr for el in root.iter() for attr in el.attrib)


def test_discreet_favicon_has_no_brand_colour() -> None:
    svg = (STATIC / "img" / "favicon-discreet.svg").read_text(encoding="utf-8").lower()
    assert "#c0392b" not in svg
    assert "#c0392b" in (STATIC / "img" / "favicon.svg").read_text(encoding="utf-8").lower()


def test_robots_txt_disallows_everything() -> None:
    lines = [
        line.split("#", 1)[0].strip()
        for line in (STATIC / "robots.txt").read_text(encoding="utf-8").splitlines()
    ]
    lines = [line for line in lines if line]
    assert lines == ["User-agent: *", "Disallow: /"]


# The scripts run in a tiny fake DOM under Node when Node is installed: enough to see
# what they do with a click, three Escapes and a submit.
FAKE_DOM = r"""
const fs = require("fs");
const handlers = {};
const calls = [];
const link = {nodeName: "A", className: "button quick-exit", href: "https://weather.example/",
              parentNode: null};
const span = {nodeName: "SPAN", className: "", parentNode: link};
global.window = global;
global.document = {
  documentElement: {style: {}},
  title: "Red Brolly",
  addEventListener: (type, fn) => { handlers[type] = fn; },
  querySelector: (sel) => (sel === "a.quick-exit" ? link : null),
};
global.sessionStorage = {clear: () => calls.push("sessionStorage.clear")};
global.location = {replace: (href) => calls.push("replace " + href)};
global.confirm = (q) => { calls.push("confirm " + q); return false; };
eval(fs.readFileSync(process.argv[2], "utf8"));
function fire(type, props) {
  const ev = Object.assign({defaultPrevented: false,
                            preventDefault() { this.defaultPrevented = true; }}, props);
  handlers[type](ev);
  return ev.defaultPrevented;
}
const out = {};
if (handlers.click) {
  out.clickPrevented = fire("click", {target: span});
  out.afterClick = calls.splice(0);
  out.hidden = document.documentElement.style.visibility;
  fire("keydown", {key: "Escape"});
  fire("keydown", {key: "Escape"});
  out.afterTwo = calls.splice(0);
  fire("keydown", {key: "Escape", repeat: true});
  out.afterRepeat = calls.splice(0);
  fire("keydown", {key: "Escape"});
  out.afterThree = calls.splice(0);
  fire("click", {target: {nodeName: "A", className: "other", href: "/x", parentNode: null}});
  out.otherLink = calls.splice(0);
}
if (handlers.submit) {
  const form = {getAttribute: (n) => (n === "data-confirm" ? "Delete this post?" : null)};
  out.submitPrevented = fire("submit", {target: form});
  out.afterSubmit = calls.splice(0);
  const plain = {getAttribute: () => null};
  out.plainPrevented = fire("submit", {target: plain});
  out.afterPlain = calls.splice(0);
}
console.log(JSON.stringify(out));
"""


def run_in_fake_dom(script: Path, tmp_path: Path) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the scripts' behaviour was not exercised")
    harness = tmp_path / "harness.js"
    harness.write_text(FAKE_DOM, encoding="utf-8")
    done = subprocess.run(
        [node, str(harness), str(script)], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(done.stdout)


def test_quick_exit_replaces_history_and_clears_session_storage(tmp_path: Path) -> None:
    out = run_in_fake_dom(STATIC / "js" / "quickexit.js", tmp_path)
    assert out["clickPrevented"] is True
    assert out["afterClick"] == ["sessionStorage.clear", "replace https://weather.example/"]
    assert out["hidden"] == "hidden"
    assert out["afterTwo"] == []
    assert out["afterRepeat"] == []  # holding the key down is not three presses
    assert out["afterThree"] == ["sessionStorage.clear", "replace https://weather.example/"]
    assert out["otherLink"] == []


def test_confirm_guards_only_marked_forms(tmp_path: Path) -> None:
    out = run_in_fake_dom(STATIC / "js" / "confirm.js", tmp_path)
    assert out["afterSubmit"] == ["confirm Delete this post?"]
    assert out["submitPrevented"] is True
    assert out["afterPlain"] == []
    assert out["plainPrevented"] is False
