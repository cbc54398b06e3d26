"""The ``{rule-catalogue}`` directive: the table of every helpers rule, built from the
registry when the book is built, so the catalogue and ``helpers.diagnose`` can't disagree."""

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


class RuleCatalogue(SphinxDirective):
    has_content = False

    def run(self):
        from helpers.checks import RULES
        from helpers.report import CHAPTERS

        lines = []
        for chapter in CHAPTERS:
            rules = sorted((r for r in RULES.values() if r.chapter == chapter),
                           key=lambda r: r.id)
            if not rules:
                continue
            lines += [f"## {chapter.capitalize()}", "",
                      "| rule | severity | what it detects | fix | explained in |",
                      "| --- | --- | --- | --- | --- |"]
            for r in rules:
                doc = "/" + r.doc.removesuffix(".ipynb")
                lines.append(f"| `{r.id}` | {r.severity} | **{_cell(r.title)}.** "
                             f"{_cell(r.detects)} | {_cell(r.fix)} | {{doc}}`{doc}` |")
            lines.append("")
        container = nodes.container(classes=["rule-catalogue"])
        self.state.nested_parse(StringList(lines, source="helpers.checks.RULES"),
                                self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("rule-catalogue", RuleCatalogue)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
