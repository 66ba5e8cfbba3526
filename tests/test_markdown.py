"""Tests for forum.markdown: the XSS corpus, the link/image policy, chat and excerpts.

Every vector is rendered by both ``render`` and ``render_inline`` and the output is
*parsed* with html5lib (the same algorithm a browser uses), never grepped, and the
parsed tree is checked by :func:`assert_safe_html`.
"""

from __future__ import annotations

import os
import re
import threading
import time
import typing as t

import pytest
from bs4 import BeautifulSoup
from markupsafe import Markup

from forum.markdown import LINK_REL
from forum.markdown import MAX_CHAT_CHARS
from forum.markdown import MAX_POST_CHARS
from forum.markdown import MAX_TITLE_CHARS
from forum.markdown import links_in
from forum.markdown import plain_excerpt
from forum.markdown import render
from forum.markdown import render_inline
from forum.markdown import render_inline_with_links

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from bs4 import Tag

# --------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------

# Elements that run script, fetch something, restyle the page or submit data.
FORBIDDEN_TAGS = frozenset(
    {
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "img",
        "image", "picture", "svg", "math", "style", "link", "meta", "base", "form",
        "input", "button", "select", "textarea", "video", "audio", "source", "track",
        "details", "dialog", "template", "noscript", "marquee", "portal",
    }
)  # fmt: skip
FORBIDDEN_ATTRS = frozenset({"style", "srcdoc", "formaction"})
URL_ATTRS = frozenset(
    {
        "href", "src", "action", "formaction", "xlink:href", "data", "poster",
        "background", "srcset", "ping", "cite", "longdesc", "codebase", "manifest",
    }
)  # fmt: skip
# A second, stricter net: the only elements and attributes our renderer emits. Any
# other element (even a harmless one) would mean raw HTML got through.
ALLOWED_TAGS = frozenset(
    {
        "html", "head", "body", "p", "br", "hr", "em", "strong", "s", "code", "pre",
        "a", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRS: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title", "rel"}),
    "code": frozenset({"class"}),
    "th": frozenset({"class"}),
    "td": frozenset({"class"}),
    "ol": frozenset({"start"}),
}
BLOCK_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "table", "hr"}
)
REQUIRED_REL = frozenset({"nofollow", "noopener", "noreferrer"})
# What a browser ignores or strips inside a URL: C0 controls, space, DEL and C1.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def url_is_safe(value: str) -> bool:
    """Whether an href-like value is http(s), mailto or a single-slash site path."""
    url = _URL_NOISE.sub("", value).lower()
    if url.startswith(("http://", "https://", "mailto:")):
        return True
    return url.startswith("/") and not url.startswith(("//", "/\\"))


def _attr_text(value: str | list[str]) -> str:
    """bs4 gives multi-valued attributes (rel, class) as lists."""
    return " ".join(value) if isinstance(value, list) else value


def parse(html: str) -> BeautifulSoup:
    """Parse rendered output the way a browser would, inside a full document.

    The wrapper keeps bs4 from mistaking a bare URL or file name for a locator (it
    warns, and warnings are errors here) and puts the output in body context.
    """
    return BeautifulSoup(
        f"<!DOCTYPE html><html><head></head><body>{html}</body></html>", "html5lib"
    )


def assert_safe_html(html: str) -> BeautifulSoup:
    """Fail unless the parsed output is inert: see the module docstring for the list."""
    soup = parse(html)
    for tag in soup.find_all(True):
        tag = t.cast("Tag", tag)
        name = tag.name.lower()
        assert name not in FORBIDDEN_TAGS, f"<{name}> in {html!r}"
        assert name in ALLOWED_TAGS, f"unexpected <{name}> in {html!r}"
        for attr, raw_value in tag.attrs.items():
            key = attr.lower()
            value = _attr_text(raw_value)
            assert not key.startswith("on"), f"event handler {key} in {html!r}"
            assert key not in FORBIDDEN_ATTRS, f"{key} attribute in {html!r}"
            if key in URL_ATTRS or key.endswith("href"):
                assert url_is_safe(value), f"{key}={value!r} in {html!r}"
            assert key in ALLOWED_ATTRS.get(name, ()), f"unexpected {key} on <{name}>"
        if name == "a":
            assert REQUIRED_REL <= set(_attr_text(tag.get("rel", "")).split()), html
            assert "target" not in tag.attrs
    return soup


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<img src=x>",
        "<svg><a xlink:href=javascript:alert(1)>x</a></svg>",
        "<p onclick=alert(1)>x</p>",
        '<p style="color:red">x</p>',
        "<span>x</span>",
        f'<a href="javascript:alert(1)" rel="{LINK_REL}">x</a>',
        f'<a href="java&#x09;script:alert(1)" rel="{LINK_REL}">x</a>',
        f'<a href=" //evil.example" rel="{LINK_REL}">x</a>',
        f'<a href="/\\evil.example" rel="{LINK_REL}">x</a>',
        f'<a href="relative" rel="{LINK_REL}">x</a>',
        '<a href="https://ok.example" rel="nofollow">x</a>',
        f'<a href="https://ok.example" rel="{LINK_REL}" target="_blank">x</a>',
        "<code onmouseover=alert(1)>x</code>",
    ],
)
def test_checker_rejects_unsafe_html(html: str) -> None:
    # The corpus tests are only as good as the checker; prove it bites.
    with pytest.raises(AssertionError):
        assert_safe_html(html)


def test_checker_accepts_safe_html() -> None:
    assert_safe_html(f'<p><a href="https://ok.example" rel="{LINK_REL}">x</a> <em>y</em></p>')


RENDERERS: list[Callable[[str], Markup]] = [render, render_inline]
RENDERER_IDS = ["render", "render_inline"]

# --------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------

# Spellings of a forbidden destination. Each is tried in every link syntax below, and
# none of them may produce a link at all.
BAD_DESTINATIONS: list[str] = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "java\x00script:alert(1)",
    "\x00javascript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript\x0b:alert(1)",
    "\u200bjavascript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "&#X6a;avascript:alert(1)",
    "&#0000106&#0000097vascript:alert(1)",
    "javascript&colon;alert(1)",
    "javascript&#58;alert(1)",
    "javascript&#x3a;alert(1)",
    "jav&#x09;ascript:alert(1)",
    "jav&Tab;ascript:alert(1)",
    "java&NewLine;script:alert(1)",
    "%6Aavascript:alert(1)",
    "javascript%3Aalert(1)",
    "%20javascript:alert(1)",
    "\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54:alert(1)",
    "java\\script:alert(1)",
    "javascript\\:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,alert(1)",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "data:image/png;base64,iVBORw0KGgo=",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "file:///etc/passwd",
    "FILE://C:/Windows/win.ini",
    "livescript:alert(1)",
    "feed:javascript:alert(1)",
    "view-source:evil.example/x",
    "//evil.example/x",
    "https:evil.example",
    "#top",
    "?page=2",
    "relative/path",
]


def _link_syntaxes(dest: str) -> list[tuple[str, str]]:
    """The ways Markdown can make a link (or image) from a destination."""
    return [
        ("inline", f"[click]({dest})"),
        ("angle", f"[click](<{dest}>)"),
        ("titled", f'[click]({dest} "t")'),
        ("reference", f"[click][r]\n\n[r]: <{dest}>"),
        ("autolink", f"<{dest}>"),
        ("image", f"![pic]({dest})"),
    ]


BAD_LINK_VECTORS: list[t.Any] = [
    pytest.param(src, id=f"{kind}-{i}")
    for i, dest in enumerate(BAD_DESTINATIONS)
    for kind, src in _link_syntaxes(dest)
]

XSS_VECTORS: list[t.Any] = [
    pytest.param(src, id=f"xss-{i}")
    for i, src in enumerate(
        [
            # Raw HTML blocks and inline tags.
            "<script>alert(1)</script>",
            "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
            "<script\n>alert(1)</script\n>",
            "text <script>alert(1)</script> text",
            "<img src=x onerror=alert(1)>",
            '<img src="javascript:alert(1)">',
            "<IMG SRC=`javascript:alert(1)`>",
            "<img/src/onerror=alert(1)>",
            "<svg onload=alert(1)>",
            "<svg><script>alert(1)</script></svg>",
            '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">X</text></a></svg>',
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            '<iframe src="javascript:alert(1)"></iframe>',
            '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
            '<object data="javascript:alert(1)"></object>',
            '<embed src="data:text/html,<script>alert(1)</script>">',
            "<a href=javascript:alert(1)>x</a>",
            '<a href="javascript:alert(1)">x</a>',
            "<a/href=javascript:alert(1)>x</a>",
            "<details open ontoggle=alert(1)>",
            "<body onload=alert(1)>",
            "<input autofocus onfocus=alert(1)>",
            "<form action=javascript:alert(1)><button>x</button></form>",
            "<button formaction=javascript:alert(1)>x</button>",
            "<video><source onerror=alert(1)></video>",
            "<audio src=x onerror=alert(1)>",
            "<style>@import 'https://evil.example/x.css';</style>",
            "<link rel=stylesheet href=https://evil.example/x.css>",
            '<meta http-equiv=refresh content="0;url=javascript:alert(1)">',
            '<base href="https://evil.example/">',
            '<div style="background:url(javascript:alert(1))">x</div>',
            '<p style="position:fixed;inset:0">fake login</p>',
            "<marquee onstart=alert(1)>",
            "<x onmouseover=alert(1)>hover</x>",
            "<table><tr><td onclick=alert(1)>x</td></tr></table>",
            "<scr<script>ipt>alert(1)</scr</script>ipt>",
            "<<script>alert(1)//<</script>",
            '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
            "<template><script>alert(1)</script></template>",
            "<textarea><script>alert(1)</script></textarea>",
            "<title><script>alert(1)</script></title>",
            "<plaintext><script>alert(1)</script>",
            "<div>\n\n*md* <script>alert(1)</script>\n\n</div>",
            "<scri\x00pt>alert(1)</scri\x00pt>",
            '<a href="&#106;avascript:alert(1)">x</a>',
            '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
            "<img src=x:alert(alt) onerror=eval(src) alt=0>",
            "<isindex type=image src=1 onerror=alert(1)>",
            "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
            '<math href="javascript:alert(1)">CLICK</math>',
            '<object type="text/x-scriptlet" data="https://evil.example/x.sct"></object>',
            "<dialog open onclose=alert(1)>",
            "<portal src=https://evil.example>",
            "* * *\n<script>alert(1)</script>",
            # Comments, CDATA, declarations, processing instructions.
            "<!-- <img src=x onerror=alert(1)> -->",
            "<!--><img src=x onerror=alert(1)>-->",
            "<![CDATA[<script>alert(1)</script>]]>",
            "<!DOCTYPE html><script>alert(1)</script>",
            '<?xml version="1.0"?><script>alert(1)</script>',
            # Entity-encoded tags must stay text.
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&#60;script&#62;alert(1)&#60;/script&#62;",
            "&#x3C;img src=x onerror=alert(1)&#x3E;",
            "&amp;lt;script&amp;gt;",
            "\\<script>alert(1)\\</script>",
            # Code spans and blocks.
            "`<script>alert(1)</script>`",
            "```html\n<script>alert(1)</script>\n```",
            '```"><script>alert(1)</script>\nx\n```',
            "```js onload=alert(1)\nx\n```",
            "    <script>alert(1)</script>",
            # Link titles and destinations that try to break out of the attribute.
            '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
            "[x](https://ok.example 'a\" onerror=alert(1) x=')",
            '[x](https://ok.example "><img src=x onerror=alert(1)>")',
            '[x](https://ok.example (" onfocus=alert(1) autofocus "))',
            '[x]\n\n[x]: https://ok.example "\\" onerror=alert(1)"',
            '[x](https://ok.example/"><script>alert(1)</script>)',
            "[x](https://ok.example/' onmouseover='alert(1))",
            '[x](<https://ok.example/" onmouseover="alert(1)>)',
            "[x](https://ok.example/%22onmouseover=%22alert(1))",
            '[x](https://ok.example" onmouseover="alert(1))',
            # HTML in link text.
            "[<img src=x onerror=alert(1)>](https://ok.example)",
            "[<script>alert(1)</script>](https://ok.example)",
            "[<a href=javascript:alert(1)>x</a>](https://ok.example)",
            # Autolinks with quotes and angle brackets.
            '<https://ok.example/"><script>alert(1)</script>>',
            "<https://ok.example/'onmouseover='alert(1)'>",
            '<"javascript:alert(1)">',
            "< javascript:alert(1)>",
            "<javascript:alert(1)//https://ok.example>",
            '<mailto:x@ok.example?subject="><script>alert(1)</script>>',
            '[x](mailto:"><script>alert(1)</script>)',
            "mailto:javascript:alert(1)",
            # Linkify.
            "javascript:alert(1)",
            "javascript://www.example.com/%0aalert(1)",
            "javascript:alert(1)//www.example.com",
            'https://ok.example/"onmouseover="alert(1)',
            "https://ok.example/<img src=x onerror=alert(1)>",
            'www.example.com"onmouseover="alert(1)',
            "www.example.com/<script>alert(1)</script>",
            "www.example.com",
            "mailto:someone@example.com",
            "someone@example.com",
            "//www.example.com/x",
            "data:text/html,<script>alert(1)</script>",
            # Nested emphasis and code tricks.
            "*<img src=x onerror=alert(1)>*",
            "**[x](javascript:alert(1))**",
            "`[x](javascript:alert(1))`",
            "[`x`](javascript:alert(1))",
            '[x](javascript:alert(1) "`")',
            "***[x](javascript:alert(1))***",
            "~~<script>alert(1)</script>~~",
            "[*x*](<javascript:alert(1)>)",
            "[x](java*script*:alert(1))",
            "[[x](javascript:alert(1))](https://ok.example)",
            "[x](https://ok.example)[y](javascript:alert(1))",
            "[x](https://ok.example)<!-- -->[y](javascript:alert(1))",
            '[x](<javascript:alert(1)> "t")',
            '[x](https://ok.example "\n<script>alert(1)</script>\n")',
            # Empty destinations: markdown-it would emit href="" (found by brs-kb).
            "[x]()",
            "![x]()",
            "[x](<>)",
            "<script>class X{[alert(1)](){}}</script>",
            # Duplicate reference definitions: the first one wins, either way round.
            "[a]: https://ok.example\n[a]: javascript:alert(1)\n\n[a]",
            "[a]: javascript:alert(1)\n[a]: https://ok.example\n\n[a]",
            "*`*`<script>`*`*",
            # Images: javascript:, data: and remote hosts.
            "[![x](javascript:alert(1))](https://ok.example)",
            "[![x](https://ok.example/p.png)](javascript:alert(1))",
            "[![x](https://ok.example/p.png)](https://ok.example)",
            '![x](https://ok.example/p.png" onerror="alert(1))',
            '![x" onerror="alert(1)](https://ok.example/p.png)',
            "![<img src=x onerror=alert(1)>](https://ok.example/p.png)",
            '!["><script>alert(1)</script>](https://ok.example/p.png)',
            "![x](https://evil.example/track.gif)",
            "![x](https://evil.example/track.gif 'title')",
            "![x][r]\n\n[r]: https://evil.example/track.gif",
            "[r]: https://evil.example/track.gif\n\n![r]",
            "![x](//evil.example/track.gif)",
            "![x](/uploads/p.png)",
            "![](https://evil.example/track.gif)",
            "![![inner](https://a.example/i.png)](https://b.example/o.png)",
            # Block structure carrying HTML.
            "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
            "| left | mid | right |\n| :-- | :-: | --: |\n| 1 | 2 | 3 |",
            "> <script>alert(1)</script>",
            "- <img src=x onerror=alert(1)>",
            "# <svg onload=alert(1)>",
            "Setext <script>alert(1)</script>\n===",
            "1. [x](javascript:alert(1))",
            "3. three\n4. four",
            # Pathological sizes and shapes.
            ">" * 1000 + " <script>alert(1)</script>",
            "[" * 1000 + "x](javascript:alert(1))",
            "*" * 500 + "<img src=x onerror=alert(1)>" + "*" * 500,
            "<" * 1000 + "script>alert(1)",
            "a" * 20_000,
            "[x](https://ok.example/" + "a" * 5_000 + ")",
            "".join(f"{'  ' * i}- <img src=x onerror=alert({i})>\n" for i in range(60)),
            # Empty, blank and odd characters.
            "",
            " ",
            "\n\n\t  \n",
            "\x00",
            "\x00<script>alert(1)</script>",
            "\ufeff<script>alert(1)</script>",
            "\u202e[x](javascript:alert(1))",
            "\r\n<script>\r\nalert(1)\r\n</script>\r\n",
            # Entities without semicolons, long and short forms.
            "[x](&#x6a&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3a;alert(1))",
            (
                "[x](&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114"
                "&#0000105&#0000112&#0000116&#0000058alert(1))"
            ),
        ]
    )
]


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
@pytest.mark.parametrize("source", XSS_VECTORS)
def test_xss_vector_renders_inert(renderer: Callable[[str], Markup], source: str) -> None:
    assert_safe_html(renderer(source))


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
@pytest.mark.parametrize("source", BAD_LINK_VECTORS)
def test_forbidden_destination_never_becomes_a_link(
    renderer: Callable[[str], Markup], source: str
) -> None:
    soup = assert_safe_html(renderer(source))
    assert soup.find("a") is None, renderer(source)


def test_corpus_is_big_enough() -> None:
    # The brief asks for at least 150 vectors; keep that from silently shrinking.
    assert len(XSS_VECTORS) + len(BAD_LINK_VECTORS) >= 150
    assert len(XSS_VECTORS) >= 150


# --------------------------------------------------------------------------------------
# Positive behaviour
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
def test_link_works_and_carries_rel(renderer: Callable[[str], Markup]) -> None:
    soup = assert_safe_html(renderer("[a](https://example.org)"))
    (link,) = soup.find_all("a")
    assert link["href"] == "https://example.org"
    assert link.get_text() == "a"
    assert _attr_text(link["rel"]) == LINK_REL


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
@pytest.mark.parametrize(
    ("source", "href"),
    [
        ("[a](http://example.org/x?y=1#z)", "http://example.org/x?y=1#z"),
        ("[a](HTTPS://example.org)", "HTTPS://example.org"),
        ("[a](mailto:someone@example.org)", "mailto:someone@example.org"),
        ("[a](/spaces/3/threads/9)", "/spaces/3/threads/9"),
        ("[a](/)", "/"),
        ("[a][r]\n\n[r]: https://example.org/ref", "https://example.org/ref"),
        ("<https://example.org/auto>", "https://example.org/auto"),
        ("see https://example.org/plain now", "https://example.org/plain"),
        ("see www.example.com now", "http://www.example.com"),
        ("<someone@example.org>", "mailto:someone@example.org"),
        # A space ends the destination, so this is no Markdown link; linkify still
        # finds the bare URL up to the space.
        ("[a](https://example.org/a b)", "https://example.org/a"),
    ],
)
def test_allowed_links(renderer: Callable[[str], Markup], source: str, href: str | None) -> None:
    soup = assert_safe_html(renderer(source))
    links = soup.find_all("a")
    if href is None:
        assert links == []
    else:
        assert [a["href"] for a in links] == [href]


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
def test_backslash_after_slash_stays_on_this_site(renderer: Callable[[str], Markup]) -> None:
    # Browsers read a literal "/\host" as "//host"; normalisation percent-encodes the
    # backslash, so the href is an ordinary path here.
    soup = assert_safe_html(renderer("[a](/\\evil.example)"))
    for link in soup.find_all("a"):
        assert not link["href"].startswith(("//", "/\\"))


@pytest.mark.parametrize(
    ("source", "tag"),
    [
        ("**bold**", "strong"),
        ("*em*", "em"),
        ("_em_", "em"),
        ("`code`", "code"),
        ("~~gone~~", "s"),
        ("- one\n- two", "ul"),
        ("1. one\n2. two", "ol"),
        ("> quoted", "blockquote"),
        ("# Title", "h1"),
        ("### Title", "h3"),
        ("```\ncode\n```", "pre"),
        ("    indented code", "pre"),
        ("| a |\n|---|\n| b |", "table"),
        ("---", "hr"),
    ],
)
def test_render_block_markdown(source: str, tag: str) -> None:
    soup = assert_safe_html(render(source))
    assert soup.find(tag) is not None


def test_table_alignment_is_a_class_not_a_style() -> None:
    soup = assert_safe_html(render("| l | c | r |\n| :-- | :-: | --: |\n| 1 | 2 | 3 |"))
    classes = [_attr_text(cell.get("class", "")) for cell in soup.find_all("td")]
    assert classes == ["rb-align-left", "rb-align-center", "rb-align-right"]


def test_raw_html_is_shown_as_text() -> None:
    html = render("<b>hi</b> &lt;script&gt;")
    soup = assert_safe_html(html)
    assert soup.find("b") is None
    assert soup.body is not None
    assert soup.body.get_text().strip() == "<b>hi</b> <script>"


def test_markup_input_is_not_trusted() -> None:
    # Markup is a str subclass; it must be treated as member text like any other.
    soup = assert_safe_html(render(Markup("<i>x</i>")))
    assert soup.find("i") is None


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
def test_image_becomes_alt_text_and_link(renderer: Callable[[str], Markup]) -> None:
    html = renderer("![a *cat*](https://example.org/cat.png)")
    soup = assert_safe_html(html)
    assert soup.find("img") is None
    assert soup.body is not None
    assert soup.body.get_text().strip() == "a cat (https://example.org/cat.png)"
    (link,) = soup.find_all("a")
    assert link["href"] == "https://example.org/cat.png"


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
def test_image_inside_link_becomes_link_text(renderer: Callable[[str], Markup]) -> None:
    soup = assert_safe_html(renderer("[![badge](https://a.example/b.svg)](https://example.org)"))
    (link,) = soup.find_all("a")
    assert link["href"] == "https://example.org"
    assert link.get_text() == "badge"


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
def test_image_with_forbidden_source_is_literal_text(renderer: Callable[[str], Markup]) -> None:
    soup = assert_safe_html(renderer("![x](javascript:alert(1))"))
    assert soup.find("a") is None
    assert soup.body is not None
    assert "![x](javascript:alert(1))" in soup.body.get_text()


@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
def test_empty_destination_keeps_only_the_text(renderer: Callable[[str], Markup]) -> None:
    # CommonMark makes [x]() a link to the current page (href=""); we make it text.
    soup = assert_safe_html(renderer("a [x]() b ![y]() c"))
    assert soup.find("a") is None
    assert soup.body is not None
    assert soup.body.get_text().strip() == "a x b y c"


def test_entity_encoded_tags_stay_text() -> None:
    html = render("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert "&lt;script&gt;" in html
    soup = assert_safe_html(html)
    assert soup.body is not None
    assert soup.body.get_text().strip() == "<script>alert(1)</script>"


# --------------------------------------------------------------------------------------
# Chat (render_inline)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "# heading",
        "Setext\n===",
        "- item\n- item",
        "1. item",
        "> quote",
        "```\nfence\n```",
        "    indented",
        "| a |\n|---|\n| b |",
        "---",
        "para one\n\npara two",
    ],
)
def test_render_inline_has_no_blocks(source: str) -> None:
    soup = assert_safe_html(render_inline(source))
    found = {tag.name for tag in soup.find_all(True)} & BLOCK_TAGS
    assert found == set(), render_inline(source)


def test_render_inline_keeps_the_chat_subset() -> None:
    soup = assert_safe_html(
        render_inline("*em* **strong** ~~gone~~ `code` [l](https://example.org) www.example.com")
    )
    for tag in ("em", "strong", "s", "code"):
        assert soup.find(tag) is not None, tag
    assert [a["href"] for a in soup.find_all("a")] == [
        "https://example.org",
        "http://www.example.com",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "plain",
        "*em* **strong** ~~gone~~ `code` [l](https://example.org) www.example.com",
        "<https://h.example> x@example.org ![alt](https://host/pic.png) [x]() [j](javascript:1)",
        "[![alt](https://pic.example/p.png)](https://target.example) `[not](https://a.link)`",
        "    indented www.example.org\n> quote [q](/local)",
        *[vector.values[0] for vector in XSS_VECTORS],
    ],
)
def test_one_parse_renders_and_finds_links_as_the_two_did(source: str) -> None:
    """Chat's one parse (``render_inline_with_links``) gives exactly what
    ``render_inline`` and ``links_in(inline=True)`` give on their own."""
    html, links = render_inline_with_links(source)
    assert html == render_inline(source) and isinstance(html, Markup)
    assert links == links_in(source, inline=True)


def test_render_inline_newlines_become_br() -> None:
    soup = assert_safe_html(render_inline("one\ntwo\nthree"))
    assert len(soup.find_all("br")) == 2


# --------------------------------------------------------------------------------------
# Excerpts
# --------------------------------------------------------------------------------------


def test_plain_excerpt_strips_markup() -> None:
    source = "# Title\n\nSome *very* **bold** `code` [link text](https://x.example) ~~s~~"
    assert plain_excerpt(source) == "Title Some very bold code link text s"


def test_plain_excerpt_is_single_spaced() -> None:
    assert plain_excerpt("  a \n\n\n b\t\tc  \n- d\n> e") == "a b c d e"


def test_plain_excerpt_returns_unescaped_plain_str() -> None:
    rv = plain_excerpt("<b>x</b> &amp; &lt;y&gt;")
    assert rv == "<b>x</b> & <y>"
    assert type(rv) is str


def test_plain_excerpt_keeps_image_as_text() -> None:
    assert plain_excerpt("![a cat](https://x.example/c.png)") == "a cat (https://x.example/c.png)"


def test_plain_excerpt_truncates_on_a_word_with_ellipsis() -> None:
    rv = plain_excerpt("word " * 100, length=22)
    assert rv == "word word word word…"
    assert len(rv) <= 22


def test_plain_excerpt_truncates_a_long_word_hard() -> None:
    rv = plain_excerpt("x" * 500, length=10)
    assert rv == "x" * 9 + "…"


def test_plain_excerpt_leaves_short_text_whole() -> None:
    assert plain_excerpt("short", length=5) == "short"
    assert plain_excerpt("", length=5) == ""


@pytest.mark.parametrize("length", [1, 2, 3, 50, 140])
def test_plain_excerpt_never_exceeds_length(length: int) -> None:
    assert len(plain_excerpt("**lorem ipsum** dolor " * 50, length=length)) <= length


def test_plain_excerpt_rejects_nonpositive_length() -> None:
    with pytest.raises(ValueError, match="length"):
        plain_excerpt("x", length=0)


# --------------------------------------------------------------------------------------
# Types, constants, threads, speed
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("function", [render, render_inline, plain_excerpt])
@pytest.mark.parametrize("value", [None, b"**x**", 1, ["x"]])
def test_non_str_raises_type_error(function: Callable[[t.Any], object], value: object) -> None:
    with pytest.raises(TypeError):
        function(value)


def test_renderers_return_markup() -> None:
    assert isinstance(render("x"), Markup)
    assert isinstance(render_inline("x"), Markup)
    assert render("") == Markup("")


def test_length_limits() -> None:
    assert (MAX_POST_CHARS, MAX_TITLE_CHARS, MAX_CHAT_CHARS) == (20_000, 150, 2_000)


def test_concurrent_rendering_matches_serial() -> None:
    sources = [v.values[0] for v in XSS_VECTORS[:60]] + ["*a* www.example.com [b](/c)"] * 20
    expected = [(render(s), render_inline(s)) for s in sources]
    failures: list[int] = []

    def work() -> None:
        for _ in range(5):
            for i, s in enumerate(sources):
                if (render(s), render_inline(s)) != expected[i]:
                    failures.append(i)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def _prose_post(chars: int) -> str:
    """A plausible long post: paragraphs with some emphasis, links, lists and quotes."""
    sentence = (
        "I have been doing this for years and the thing nobody tells you is how much "
        "*paperwork* there is when you rent a flat, so here is what worked for me "
        "(see [this guide](https://example.org/guide) and **ask first**). "
    )
    blocks = []
    i = 0
    while sum(len(b) + 2 for b in blocks) < chars:
        i += 1
        if i % 7 == 0:
            blocks.append("- " + sentence[:80] + "\n- " + sentence[80:160])
        elif i % 11 == 0:
            blocks.append("> " + sentence)
        else:
            blocks.append(sentence * 3)
    return "\n\n".join(blocks)[:chars]


def _cpu_seconds(function: Callable[[str], object], source: str) -> float:
    """CPU time of one call. Process CPU time, not wall time, so other work on a
    shared runner does not count against us."""
    start = time.process_time()
    function(source)
    return time.process_time() - start


def _best_of(runs: int, function: Callable[[str], object], source: str) -> float:
    """Fastest of several runs, in CPU seconds: the least noisy measure of the work."""
    return min(_cpu_seconds(function, source) for _ in range(runs))


def test_long_post_renders_fast() -> None:
    # Target: well under 50 ms for a maximum-length post (measured about 25 ms on a
    # shared 2-core CI box). The assertion allows 2x that, so a slow runner does not
    # flake, while a real regression (a quadratic rule) still fails.
    source = _prose_post(MAX_POST_CHARS)
    assert len(source) == MAX_POST_CHARS
    assert _best_of(5, render, source) < 0.100
    assert _best_of(5, render_inline, source) < 0.100


# GENEROUS BOUND, on purpose: these inputs are the known worst cases of markdown-it's
# link-label scanning, which costs about maxNesting steps per "[" (0.2-0.8 CPU
# seconds for 20,000 characters on a shared 2-core box, linear in length). The test
# exists to catch a quadratic blow-up (tens of seconds), not to benchmark.
PATHOLOGICAL_BOUND_SECONDS = 2.0
PATHOLOGICAL: list[t.Any] = [
    pytest.param("[" * MAX_POST_CHARS, id="open-brackets"),
    pytest.param("![" * (MAX_POST_CHARS // 2), id="open-images"),
    pytest.param("[*" * (MAX_POST_CHARS // 2), id="brackets-and-stars"),
    pytest.param("[](" * (MAX_POST_CHARS // 3), id="empty-links"),
    pytest.param("*" * MAX_POST_CHARS, id="stars"),
    pytest.param("**a" * (MAX_POST_CHARS // 3), id="strong-openers"),
    pytest.param("_a" * (MAX_POST_CHARS // 2), id="underscores"),
    pytest.param("`" * MAX_POST_CHARS, id="backticks"),
    pytest.param("".join("`" * i + " " for i in range(1, 200)), id="backtick-runs"),
    pytest.param("~" * MAX_POST_CHARS, id="tildes"),
    pytest.param(">" * MAX_POST_CHARS, id="quote-markers"),
    pytest.param("".join(">" * i + " x\n" for i in range(1, 200)), id="nested-quotes"),
    pytest.param("".join("  " * i + "- x\n" for i in range(2_000))[:MAX_POST_CHARS], id="lists"),
    pytest.param("<" * MAX_POST_CHARS, id="angles"),
    pytest.param("<http://a" * (MAX_POST_CHARS // 9), id="autolink-openers"),
    pytest.param("http://" * (MAX_POST_CHARS // 7), id="schemes"),
    pytest.param("www.a.com " * (MAX_POST_CHARS // 10), id="fuzzy-links"),
    pytest.param("a@" * (MAX_POST_CHARS // 2), id="at-signs"),
    pytest.param("&#" * (MAX_POST_CHARS // 2), id="entity-openers"),
    pytest.param("[a]: /x\n" * (MAX_POST_CHARS // 8), id="reference-definitions"),
    pytest.param("|a|\n|-|\n" + "|x|\n" * 5_000, id="long-table"),
    pytest.param("|" + "a|" * 3_000 + "\n|" + "-|" * 3_000 + "\n", id="wide-table"),
    pytest.param("[" + "a" * MAX_POST_CHARS + "](", id="long-label"),
    pytest.param("\\" * MAX_POST_CHARS, id="backslashes"),
]


@pytest.mark.parametrize("function", [render, render_inline, plain_excerpt])
@pytest.mark.parametrize("source", PATHOLOGICAL)
def test_pathological_input_is_not_quadratic(
    function: Callable[[str], object], source: str
) -> None:
    full = _cpu_seconds(function, source)
    if full < PATHOLOGICAL_BOUND_SECONDS:
        return
    # Over the bound on a loaded machine (CI shares two cores): then the growth must
    # still be linear. Half the input takes about half the time; quadratic would be 4x.
    # The least of three runs each, so one pause (a collection, a neighbour) is not read
    # as growth.
    full = min(full, *(_cpu_seconds(function, source) for _ in range(2)))
    half = min(_cpu_seconds(function, source[: len(source) // 2]) for _ in range(3))
    assert full / half < 3.0, (full, half)


# --------------------------------------------------------------------------------------
# Optional heavy corpus: brs-kb (RB_HEAVY=1)
# --------------------------------------------------------------------------------------


def _brs_kb_payloads() -> list[str]:
    """Unique brs-kb payloads: the Markdown-aimed ones first, then every other one."""
    brs_kb = pytest.importorskip(
        "brs_kb", reason="brs-kb is not installed (pip install brs-kb) for the heavy corpus"
    )
    entries = list(brs_kb.get_all_payloads().values())
    markdown = [e["payload"] for e in entries if "markdown" in e.get("contexts", ())]
    generic = [e["payload"] for e in entries]
    return [p for p in dict.fromkeys(markdown + generic) if isinstance(p, str)]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("RB_HEAVY") != "1", reason="heavy corpus: set RB_HEAVY=1")
def test_brs_kb_corpus_renders_inert() -> None:
    payloads = _brs_kb_payloads()
    assert len(payloads) > 1_000
    failures = []
    for payload in payloads:
        for renderer in RENDERERS:
            try:
                assert_safe_html(renderer(payload))
            except AssertionError as exc:
                failures.append(f"{renderer.__name__}: {payload!r}: {exc}")
    assert failures == [], f"{len(failures)} failures, first: {failures[:5]}"
