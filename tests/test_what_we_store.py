"""docs/DEPLOY.md "What we store" is generated from the models and kept complete.

A column added without an entry in forum/stored.py, an entry for a column that is
gone, or a page that is not what the generator writes: each fails here, with the fix
(``flask --app forum what-we-store --write``).
"""

from __future__ import annotations

import sqlalchemy as sa

from forum import stored
from forum.extensions import db
from forum.sealed import SealedText


def test_every_table_and_column_has_an_entry(app):
    assert stored.missing(db.metadata) == []


def test_deploy_md_is_what_the_models_generate(app):
    assert stored.section() == stored.render(db.metadata), (
        "docs/DEPLOY.md is out of date: run `flask --app forum what-we-store --write`"
    )


def test_a_new_column_without_an_entry_is_caught(app):
    metadata = sa.MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(metadata)
    sa.Table("posts", metadata, sa.Column("rendered_html", sa.Text), extend_existing=True)
    sa.Table("phones", metadata, sa.Column("id", sa.Integer, primary_key=True))
    problems = stored.missing(metadata)
    assert "column posts.rendered_html: no entry in forum/stored.py" in problems
    assert "table phones: no entry in forum/stored.py" in problems


def test_the_page_says_which_columns_are_sealed(app):
    page = stored.render(db.metadata)
    sections = {part.split("`", 1)[0]: part for part in page.split("### `")[1:]}
    for name, table in db.metadata.tables.items():
        rows = [line for line in sections[name].splitlines() if line.startswith("| `")]
        assert len(rows) == len(table.columns), name
        for column, row in zip(table.columns, rows, strict=True):
            kind = "sealed" if isinstance(column.type, SealedText) else "plain"
            assert row.startswith(f"| `{column.name}` | ") and row.endswith(f"| {kind} |"), row
    assert "| `body` | the text (Markdown) | sealed |" in sections["posts"]
    assert "### What a seized server yields about one member" in page


def test_the_command_writes_the_page(app, runner, tmp_path, monkeypatch):
    copy = tmp_path / "DEPLOY.md"
    copy.write_text(f"intro\n\n{stored.START}\nold\n{stored.END}\n\nafter\n")
    monkeypatch.setattr(stored, "DOC", copy)
    monkeypatch.setattr(stored.write, "__defaults__", (copy,))
    result = runner.invoke(args=["what-we-store", "--write"])
    assert result.exit_code == 0, result.output
    text = copy.read_text()
    assert text.startswith("intro\n\n") and text.endswith("\n\nafter\n")
    assert stored.render(db.metadata) in text
