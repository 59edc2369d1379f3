"""YAML read with bounds: the one way calsink reads YAML (flow files, the page's map).

PyYAML's safe loader still follows aliases without limit: nine levels of nine
aliases expand to 387 million values, ``x: &x [*x]`` refers to itself, and
thousands of nested brackets exhaust the stack. ``compose`` refuses all three,
with the line, before anything walks the document.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_VALUES = 100_000
MAX_DEPTH = 100


class YamlError(ValueError):
    """YAML that cannot be used; the message starts with its line when it is known."""

    def __init__(self, line: int | None, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}" if line is not None else problem)


def compose(text: str) -> yaml.Node | None:
    """The document's node graph, checked (None for an empty document); YamlError if not."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(mark.line + 1 if mark else None, f"not valid YAML: {problem}") from None
    except RecursionError:
        raise YamlError(_too_deep_line(text), _TOO_DEEP) from None
    if node is not None:
        _check(node)
    return node


def load(text: str) -> Any:
    """The document as Python values (what ``yaml.safe_load`` gives), checked as ``compose``."""
    node = compose(text)
    return None if node is None else yaml.SafeLoader("").construct_document(node)


_TOO_DEEP = (
    f"nested deeper than {MAX_DEPTH} levels of lists and mappings; "
    "a flow file needs only a few levels"
)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check(root: yaml.Node) -> None:
    """Refuse a graph that refers to itself, or that expands too large or too deep."""
    sizes: dict[int, tuple[int, int]] = {}
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            sizes[key] = _measure(node, sizes)
            entered.discard(key)
            continue
        if key in sizes:
            continue
        if key in entered:
            # only a descendant of a node being measured can push it again: a cycle
            raise YamlError(
                node.start_mark.line + 1,
                "an alias here refers to itself (the value it names contains that alias); "
                "write the value out",
            )
        entered.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _measure(node: yaml.Node, sizes: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """How many values ``node`` expands to, and how deeply it nests."""
    children = [sizes[id(child)] for child in _children(node)]
    count = 1 + sum(size for size, _ in children)
    depth = 1 + max((child_depth for _, child_depth in children), default=0)
    line = node.start_mark.line + 1
    if count > MAX_VALUES:
        raise YamlError(
            line,
            f"this value expands, through its aliases (*name), to more than {MAX_VALUES:,} "
            "values; write it out or use fewer aliases",
        )
    if depth > MAX_DEPTH:
        raise YamlError(line, _TOO_DEEP)
    return count, depth


def _too_deep_line(text: str) -> int | None:
    """The line where the nesting passes ``MAX_DEPTH`` (events are read without recursion)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH and event.start_mark is not None:
                    return int(event.start_mark.line) + 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None
