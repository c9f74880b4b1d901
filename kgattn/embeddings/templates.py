"""How a knowledge-graph node becomes the text whose encoding is its feature vector (light: no torch)."""
from __future__ import annotations

import string

from kgattn.errors import ConfigError

#: How a node becomes text; ``{description}`` may be empty, in which case the separator goes too.
DEFAULT_TEMPLATE = "{label}: {description}"


def check_template(template: str) -> str:
    """Return ``template`` if it names only ``{label}`` and ``{description}`` (at least one)."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"node_template {template!r} is not a valid format string: {exc}") from exc
    unknown = sorted(fields - {"label", "description"})
    if unknown or not fields:
        raise ConfigError(f"node_template {template!r} may use only {{label}} and {{description}} (at least one)"
                          + (f"; unknown field(s): {', '.join(unknown)}" if unknown else ""))
    return template


def node_text(kg, node: int, template: str = DEFAULT_TEMPLATE) -> str:
    """The text encoded for ``node``: the template filled with its label and description."""
    description = kg.description(node) or ""
    text = template.format(label=kg.label(node), description=description)
    return text.rstrip(": ").strip() if not description else text
