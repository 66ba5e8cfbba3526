# Test cases for markup.yml (run: semgrep --test .semgrep).
from markupsafe import Markup

# ruleid: markup-on-user-text
Markup(post.body)
# ruleid: markup-on-user-text
Markup(f"<b>{name}</b>")
# ok: markup-on-user-text
Markup("<br>")
# ok: markup-on-user-text
Markup(_BLOCK.render(text))
# ok: markup-on-user-text
Markup(_INLINE.renderInline(text))
