"""The one Markdown renderer of the app, configured once at import.

Everything users write (posts, space rules, chat lines) is shown through this module:

- :func:`render` turns a forum post or a space's rules into block HTML;
- :func:`render_inline` turns a chat line into inline HTML (no blocks);
- :func:`plain_excerpt` turns either into short plain text for notifications, the
  moderation log and search snippets.

Safety policy, in one place:

- Raw HTML is never passed through: ``<script>`` in a post is shown as the text
  ``<script>``. (markdown-it's ``html`` option is off *and* its two HTML rules are
  disabled, so turning one back on by mistake is not enough.)
- A link survives only if, after markdown-it has decoded entities and normalised
  (percent-encoded) the destination, it starts with ``http://``, ``https://`` or
  ``mailto:``, or is a site-relative path: ``/`` followed by anything but a second
  ``/`` or a ``\\`` (both of which a browser reads as "another host"). Everything else
  (``javascript:``, ``data:``, ``vbscript:``, ``file:``, look-alikes, bare relative
  paths such as ``foo/bar``, fragments, ``?query``, protocol-relative ``//host``)
  is not linked: markdown-it then leaves the source text as plain, escaped text.
  (An empty destination, ``[x]()``, which CommonMark would link to the current
  page, keeps only its text.)
- Every ``<a>`` carries ``rel="nofollow noopener noreferrer"`` and no ``target``.
- No images, ever: members may be in danger if a post makes their browser fetch a
  stranger's server (it reveals their IP address and that they read the thread).
  ``![alt](https://host/pic.png)`` is shown as ``alt (<a …>https://host/pic.png</a>)``,
  so the picture is one deliberate click away.
- Table column alignment becomes a class (``rb-align-left|center|right``) instead
  of a ``style`` attribute, so a strict Content-Security-Policy needs no
  ``'unsafe-inline'`` for styles.
- Nesting is capped (``maxNesting``) so pathological input stays cheap.

The parser objects are module globals built once. Rendering with them from several
threads (or green threads) at once is safe: markdown-it keeps all per-call state in
the state objects it creates for each call, linkify-it-py's matcher keeps no state
between calls, and the one lazily built cache (each ruler's rule list, which is
filled in place and so could be seen half-built by a second thread) is built
eagerly here, at import.
"""

from __future__ import annotations

import re
import typing as t

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from markdown_it.renderer import RendererHTML
    from markdown_it.rules_core import StateCore
    from markdown_it.utils import EnvType
    from markdown_it.utils import OptionsDict

__all__ = [
    "LINK_REL",
    "MAX_CHAT_CHARS",
    "MAX_POST_CHARS",
    "MAX_TITLE_CHARS",
    "plain_excerpt",
    "render",
    "render_inline",
    "render_inline_with_links",
]

#: Longest post body or space rules text, in characters. Callers check it.
MAX_POST_CHARS = 20_000
#: Longest thread or space title, in characters. Callers check it.
MAX_TITLE_CHARS = 150
#: Longest chat message, in characters. Callers check it.
MAX_CHAT_CHARS = 2_000

#: The ``rel`` every rendered link carries: no search-engine credit for spam
#: (nofollow), no ``window.opener`` handle for the target page (noopener), and no
#: Referer telling the target which thread, in which space, a member was reading
#: (noreferrer).
LINK_REL = "nofollow noopener noreferrer"

# markdown-it counts one level per open tag (a list item inside a list inside a
# quote is three levels). 20 is deep enough for any honest post and keeps the
# parser's work on hostile input (thousands of ">" or "[") small. Past the cap,
# block content is dropped and inline markup is left as text.
_MAX_NESTING = 20

# Checked against the destination *after* markdown-it's normalizeLink, which has
# already decoded entities and backslash escapes and percent-encoded anything
# outside the URL-safe set (so whitespace and control characters cannot be in it;
# the explicit check below is a second belt). The scheme must be spelt out
# exactly; nothing is inferred from a "looks like" match.
_ALLOWED_LINK = re.compile(
    r"""
    (?: https?://[^/\\?#@]      # an http(s) URL that names a host
      | mailto:[^/\\]           # an e-mail address
      | /(?![/\\])              # a path on this site, but not //host or /\host
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")

_ALIGN_STYLE = re.compile(r"text-align:(left|center|right)")


def _is_allowed_link(url: str) -> bool:
    """Whether a normalised link destination may become an ``href``."""
    return bool(_ALLOWED_LINK.match(url)) and not _UNSAFE_CHARS.search(url)


class _StrictMarkdownIt(MarkdownIt):
    """markdown-it with our link allow-list instead of its block-list.

    markdown-it's own validateLink refuses four known-bad schemes and allows every
    other one. We allow three and refuse the rest, so an unheard-of scheme (or a
    browser quirk in parsing one) cannot become a live link.
    """

    def validateLink(self, url: str) -> bool:
        """Allow only http(s), mailto and site-relative destinations."""
        return _is_allowed_link(url)


def _flatten_text(tokens: Sequence[Token] | None) -> str:
    """The visible text of inline tokens, markup dropped (image alt text, excerpts)."""
    parts: list[str] = []
    for token in tokens or ():
        if token.type in ("text", "text_special", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type == "image":
            parts.append(_flatten_text(token.children))
    return "".join(parts)


def _text_token(content: str, level: int) -> Token:
    """A plain text token (the renderer escapes its content)."""
    token = Token("text", "", 0)
    token.content = content
    token.level = level
    return token


def _image_as_link(md: MarkdownIt, image: Token, in_link: bool) -> list[Token]:
    """Tokens that stand for an image: its alt text, then its address as a link.

    Inside a link (``[![alt](pic)](target)``) a second ``<a>`` cannot nest, so the
    image becomes just its alt text, or its address as text when it has no alt.
    """
    alt = _flatten_text(image.children).strip()
    src = image.attrGet("src")
    if not isinstance(src, str) or not _is_allowed_link(src):
        src = ""
    shown = md.normalizeLinkText(src) if src else ""
    level = image.level
    if in_link or not src:
        return [_text_token(alt or shown, level)]
    link_open = Token("link_open", "a", 1)
    link_open.attrs = {"href": src}
    link_open.level = level
    link_open.markup = "image"
    link_close = Token("link_close", "a", -1)
    link_close.level = level
    link_close.markup = "image"
    return [
        _text_token(f"{alt} (" if alt else "(", level),
        link_open,
        _text_token(shown, level + 1),
        link_close,
        _text_token(")", level),
    ]


def _enforce_link_policy(state: StateCore) -> None:
    """Core rule: replace images by text plus a link; unwrap links we do not allow.

    Images are handled on the token stream (not in the renderer) so that every
    consumer, the HTML renderers and :func:`plain_excerpt` alike, sees the same
    thing.

    markdown-it runs ``validateLink`` while parsing, but one path skips it: when a
    destination fails, the link rule falls back to ``href=""`` and still makes a
    link if ``)`` follows at once, as in ``[x]()``. So every ``href`` is checked
    again here, on the final tokens, and a link that fails keeps only its text.
    """
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        kept: list[bool] = []  # for each open link: was its link_open kept?
        for token in block.children:
            if token.type == "link_open":
                href = token.attrGet("href")
                kept.append(isinstance(href, str) and _is_allowed_link(href))
                if kept[-1]:
                    children.append(token)
            elif token.type == "link_close":
                if kept.pop() if kept else False:
                    children.append(token)
            elif token.type == "image":
                children.extend(_image_as_link(state.md, token, in_link=True in kept))
            else:
                children.append(token)
        block.children = children


def _render_link_open(
    self: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    """Render ``<a>`` with our ``rel`` and never a ``target``.

    This is the one place every link (written, autolinked, linkified or made from
    an image) is turned into HTML, so the attributes are enforced here.
    """
    token = tokens[idx]
    token.attrs.pop("target", None)
    token.attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)


def _render_table_cell_open(
    self: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    """Render ``<th>``/``<td>`` with an alignment class instead of inline style."""
    token = tokens[idx]
    style = token.attrs.pop("style", None)
    if isinstance(style, str) and (match := _ALIGN_STYLE.fullmatch(style)):
        token.attrSet("class", f"rb-align-{match.group(1)}")
    return self.renderToken(tokens, idx, options, env)


def _add_safety_rules(md: MarkdownIt) -> None:
    """The rules both parsers share: link policy, images as links, ``rel``, no styles."""
    md.core.ruler.after("linkify", "rb_link_policy", _enforce_link_policy)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("th_open", _render_table_cell_open)
    md.add_render_rule("td_open", _render_table_cell_open)


def _build_block_parser() -> MarkdownIt:
    """The parser for posts and rules: "js-default" (CommonMark plus tables and
    strikethrough, HTML off, link validation on) with linkify, typographer off."""
    md = _StrictMarkdownIt(
        "js-default",
        {"html": False, "linkify": True, "typographer": False, "maxNesting": _MAX_NESTING},
    )
    md.disable(["html_block", "html_inline", "replacements", "smartquotes"])
    _add_safety_rules(md)
    return md


def _build_inline_parser() -> MarkdownIt:
    """The parser for chat: only inline rules, and newlines become ``<br>``."""
    md = _StrictMarkdownIt(
        "zero",
        {
            "html": False,
            "linkify": True,
            "typographer": False,
            "breaks": True,
            "maxNesting": _MAX_NESTING,
        },
    )
    md.enable(
        [
            "linkify",  # both the core rule (www.example.org) and the inline one (https://)
            "newline",
            "escape",
            "backticks",
            "strikethrough",
            "emphasis",
            "link",
            "image",  # parsed so it can be shown as text + link, never as <img>
            "autolink",
            "entity",
        ]
    )
    _add_safety_rules(md)
    return md


_BLOCK = _build_block_parser()
_INLINE = _build_inline_parser()

# Build every ruler's rule cache now, in one thread, rather than on first use where
# two threads could race on it (see the module docstring). One sample that touches
# each chain: block, inline, inline2 and core.
_WARM_UP = (
    "# t\n\n> *a* ~~b~~ `c` [d](/e) ![f](/g) [h]() www.example.org x@example.org\n"
    "<https://h.example>\n\n|x|\n|:-|\n|y|\n"
)
_BLOCK.render(_WARM_UP)
_INLINE.renderInline(_WARM_UP)


def _require_str(text: object) -> str:
    """Return ``text`` if it is a str; raise TypeError otherwise.

    Refusing bytes and None here catches a caller's bug (``render(None)`` would
    otherwise be shown as the word "None") at the point where it happened.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, not {type(text).__name__}")
    return text


def render(text: str) -> Markup:
    """Render a forum post or a space's rules as safe block HTML.

    :param text: Markdown written by a member; any str (callers enforce
        :data:`MAX_POST_CHARS`).
    :returns: HTML that can go straight into a template.
    :raises TypeError: if ``text`` is not a str.
    """
    # Bandit's B704 waived: this is the renderer's output, not the member's text; raw
    # HTML is off and markdown-it escapes the rest (tests/test_markdown.py: XSS corpus).
    return Markup(_BLOCK.render(_require_str(text)))  # nosec B704


def render_inline(text: str) -> Markup:
    """Render a chat message as safe inline HTML.

    Emphasis, strong, strikethrough, inline code and links (same rules as
    :func:`render`, including linkify) are kept. There is no block structure: no
    paragraphs, headings, lists, quotes or code blocks, and each newline becomes
    ``<br>``. Images are shown as text plus a link, as in :func:`render`.

    :param text: Markdown written by a member (callers enforce :data:`MAX_CHAT_CHARS`).
    :returns: HTML that can go inside a ``<p>`` or ``<span>``.
    :raises TypeError: if ``text`` is not a str.
    """
    # B704 waived as in render(): renderer output, raw HTML off.
    return Markup(_INLINE.renderInline(_require_str(text)))  # nosec B704


_ELLIPSIS = "\u2026"


def plain_excerpt(text: str, length: int = 140) -> str:
    """Return ``text`` with its Markdown stripped, single-spaced, at most ``length``
    characters long (ending in "…" when it was cut).

    The result is a plain, *unescaped* str (``<b>`` stays ``<b>``): callers escape
    it, as Jinja does by default. Link text is kept and link addresses dropped,
    except for bare links, whose text is the address; an image becomes its alt
    text and address, as in :func:`render`.

    :raises TypeError: if ``text`` is not a str.
    :raises ValueError: if ``length`` is less than 1.
    """
    _require_str(text)
    if length < 1:
        raise ValueError("length must be at least 1")
    parts: list[str] = []
    for token in _BLOCK.parse(text):
        if token.type == "inline":
            parts.append(_flatten_text(token.children))
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
    flat = " ".join(" ".join(parts).split())
    if len(flat) <= length:
        return flat
    cut = flat[: length - 1]
    # Prefer ending on a whole word, unless that would throw away half the room.
    space = cut.rfind(" ")
    if space >= length // 2:
        cut = cut[:space]
    return cut.rstrip() + _ELLIPSIS


def links_in(text: str, *, inline: bool = False) -> list[str]:
    """The link addresses :func:`render` (or, with ``inline``, :func:`render_inline`)
    would make from ``text``, in order.

    Written links (``[x](https://…)``), autolinks (``<https://…>``), linkified text
    (``https://…``, ``www.…``, ``name@host.org``) and images (shown as links) all
    count; destinations the link policy refuses (``javascript:``, ``[x]()``) do not,
    because they are never rendered as links. Posting rules for new accounts use it
    (``moderation/screening.py``), so it must match the renderer that shows the text:
    an indented "code block" is code to :func:`render` but linkified text to
    :func:`render_inline`.

    :raises TypeError: if ``text`` is not a str.
    """
    _require_str(text)
    return _links(_INLINE.parseInline(text) if inline else _BLOCK.parse(text))


def render_inline_with_links(text: str) -> tuple[Markup, list[str]]:
    """:func:`render_inline` and ``links_in(text, inline=True)`` from one parse: a chat
    message is screened for links and stored rendered, and parsing it twice was a
    tenth of a send's CPU.

    :raises TypeError: if ``text`` is not a str.
    """
    env: dict[str, t.Any] = {}
    tokens = _INLINE.parseInline(_require_str(text), env)
    html = _INLINE.renderer.render(tokens, _INLINE.options, env)
    # B704 waived as in render(): renderer output, raw HTML off.
    return Markup(html), _links(tokens)  # nosec B704  # nosemgrep: semgrep.markup-on-user-text


def _links(tokens: Sequence[Token]) -> list[str]:
    found: list[str] = []
    for token in tokens:
        if token.type != "inline":
            continue
        for child in token.children or ():
            if child.type == "link_open":
                href = child.attrGet("href")
                found.append(href if isinstance(href, str) else "")
    return found
