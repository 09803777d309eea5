"""``kaniko-config``: the ``[kaniko]`` options as ``airflow_kaniko.config.SECTION`` declares them, so the page
lists exactly what ``get_provider_info`` registers (an option added there appears here)."""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from airflow_kaniko import config


def _literal(text: str) -> nodes.Node:
    return nodes.literal(text=text) if text else nodes.emphasis(text="empty")


class KanikoConfigDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        section = config.SECTION[config.NAME]
        entries = nodes.definition_list()
        for option, spec in section["options"].items():
            term = nodes.term()
            term += nodes.literal(text=f"{option}")
            definition = nodes.definition()
            # The descriptions are reStructuredText, as Airflow's config reference renders them.
            self.state.nested_parse(self._lines(spec["description"]), self.content_offset, definition)
            fields = nodes.field_list()
            for name in ("type", "default", "example", "version_added"):
                field = nodes.field()
                field += nodes.field_name(text=name.replace("_", " "))
                body = nodes.field_body()
                body += nodes.paragraph("", "", _literal(spec.get(name) or ""))
                field += body
                fields += field
            field = nodes.field()
            field += nodes.field_name(text="environment")
            body = nodes.field_body()
            body += nodes.paragraph("", "", nodes.literal(text=f"AIRFLOW__{config.NAME.upper()}__{option.upper()}"))
            field += body
            fields += field
            definition += fields
            entries += nodes.definition_list_item("", term, definition)
        return [entries]

    def _lines(self, text: str) -> StringList:
        return StringList(text.strip().splitlines(), source="airflow_kaniko/config.py")


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("kaniko-config", KanikoConfigDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
