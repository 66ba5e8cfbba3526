# Test cases for markdown.yml (run: semgrep --test .semgrep).
from markdown_it import MarkdownIt

# ruleid: markdown-it-unsafe-preset
md = MarkdownIt()
# ruleid: markdown-it-unsafe-preset
md = MarkdownIt("commonmark")
# ruleid: markdown-it-unsafe-preset
md = _StrictMarkdownIt("zero", {"linkify": True})
# ok: markdown-it-unsafe-preset
md = MarkdownIt("js-default")
# ok: markdown-it-unsafe-preset
md = _StrictMarkdownIt("zero", {"html": False, "linkify": True})
