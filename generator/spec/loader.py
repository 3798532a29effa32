"""YAML with positions: plain data for validation, and the line/column of every node for problem reports.

The text becomes LibYAML's node trees in spec/composer.py (why LibYAML and not ruamel.yaml: there), and plain
scalars take YAML 1.2's types in spec/scalars.py (ruamel's rules: `yes`/`on` stay strings, `012` is 12; the
tests hold the data to `ruamel.yaml`'s on every example).

The data is built by walking the node tree ourselves rather than by a constructor, so that every
file-level mistake (duplicate or non-string keys, alias bombs, unknown tags, ...) becomes a located
Problem instead of an exception or, worse, a silently kept last value.
"""

from __future__ import annotations

import errno
import os
from generator.records import dataclass, field
from pathlib import Path
from typing import Any, cast

from generator.yaml_import import MappingNode, Node, ScalarNode, SequenceNode, yaml

from generator.errors import InvalidInput, Problem, json_path
from generator.spec.composer import MAX_DEPTH, Position, compose_nodes, decode, mark_position, too_deep
from generator.spec.scalars import (
    BAD, MAP, NULL, PLAIN, SEQ, STR, TAGGED_TYPES, describe, explicit, resolve_plain, short_tag,
)  # fmt: skip

MAX_BYTES = 1024 * 1024
MAX_ALIAS_NODES = 10_000

PathTuple = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: plain data plus the node tree to locate any path in it."""

    data: Any
    source: str
    index: int  # 0-based position of the document in its file
    _root: Node = field(repr=False, compare=False)
    _positions: dict[PathTuple, tuple[Position | None, Position]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def locate(self, path: PathTuple) -> Position:
        """1-based (line, column) of the value at `path`, or of its nearest existing ancestor."""
        return self._entry(path)[1]

    def locate_key(self, path: PathTuple) -> Position:
        """Where the key naming `path` is written (what "unknown field" points at); the value otherwise."""
        key, value = self._entry(path)
        return key or value

    def _entry(self, path: PathTuple) -> tuple[Position | None, Position]:
        positions = self._index()
        for end in range(len(path), -1, -1):
            entry = positions.get(tuple(path[:end]))
            if entry is not None:
                return entry if end == len(path) else (None, entry[1])
        return None, (1, 1)

    def _index(self) -> dict[PathTuple, tuple[Position | None, Position]]:
        # Built on first use only: most documents are valid and never asked where anything is.
        if not self._positions:
            _Builder(self.source, self._positions).document(self._root)
        return self._positions


def load_file(path: Path, display: str | None = None) -> list[Document]:
    """Every document in the file; file-level mistakes raise InvalidInput with located problems."""
    source = display if display is not None else str(path)
    if unsafe_name(str(path)) or unsafe_name(source):
        raise InvalidInput([Problem(repr(source), 0, 0, "$", (
            "the file name holds a control character (a newline, say); rename the file: its name goes into "
            "generated headers and commit messages"))])  # fmt: skip
    try:
        raw = read_regular(path, MAX_BYTES)
    except _TooBig as exc:
        raise InvalidInput([_too_big(source, exc.size)]) from None
    except _NotRegular as exc:
        raise InvalidInput([Problem(source, 0, 0, "$", str(exc))]) from None
    except OSError as exc:
        raise InvalidInput([Problem(source, 0, 0, "$", f"cannot read the file: {exc.strerror or exc}")]) from None
    return load_text(raw, source)


def unsafe_name(name: str) -> bool:
    """A control character (C0, DEL, C1) or a Unicode line or paragraph separator: what could start a new line
    in a header, a commit message or a terminal."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in name)


class _NotRegular(OSError):
    """A symlink, a folder, a FIFO or a device where a regular file was expected."""


class _TooBig(OSError):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, never through a symlink (O_NOFOLLOW: no window between a check and the
    open). A spec that is a symlink could make rollgen read, and quote in its messages, any file the user can
    read (`releases/leak.yaml -> ~/.config/token`), so it is refused wherever it is named."""
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise _NotRegular("the file is a symlink; rollgen reads only regular files: name the file itself, "
                              "or copy it here") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _NotRegular("not a regular file; name a .yaml file")
        if info.st_size > limit:
            raise _TooBig(info.st_size)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise _TooBig(len(data))
    return data


def load_text(text: bytes | str, display: str) -> list[Document]:
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise InvalidInput([_too_big(display, size)])
    decoded = decode(text, display) if isinstance(text, bytes) else text
    roots = compose_nodes(decoded.removeprefix("\ufeff"), display)
    docs, problems = [], []
    for index, root in enumerate(roots):
        builder = _Builder(display)
        docs.append(Document(builder.document(root), display, index, root))
        problems += builder.problems
    if problems:
        raise InvalidInput(problems)
    return docs


def load_single(path: Path, display: str | None = None, *, allow_empty: bool = False) -> Document:
    """The one document a spec file must hold. Empty documents (a stray `---`) are not counted; with
    `allow_empty` (settings files, where every key is optional) a file without any gives `data` None."""
    docs = load_file(path, display)
    source = display if display is not None else str(path)
    present = [doc for doc in docs if not _is_empty(doc._root)]
    if not present and allow_empty:
        return Document(None, source, 0, ScalarNode(PLAIN, "", yaml.Mark(source, 0, 0, 0, "", 0)))
    if not present:
        raise InvalidInput([Problem(
            source, 1, 1, "$",
            "the file holds no YAML document (it is empty or only comments); "
            "a release spec starts with `apiVersion: rollgen.io/v1alpha1` and `kind: Release`",
        )])  # fmt: skip
    if len(present) > 1:
        line, column = _mark(present[1]._root)
        raise InvalidInput([Problem(
            source, line, column, "$",
            f"expected one document, found {len(present)}; the second starts here: "
            "put each release in its own file",
        )])  # fmt: skip
    return present[0]


def _too_big(source: str, size: int) -> Problem:
    return Problem(
        source, 1, 1, "$",
        f"file is {size} bytes; the limit is 1 MiB ({MAX_BYTES} bytes): a release spec is a few KiB, "
        "so check that this is the file you meant",
    )  # fmt: skip



def _mark(node: Node) -> Position:
    return mark_position(node.start_mark)



def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == PLAIN and node.value == ""



class _Stop(Exception):
    """A mistake after which walking the rest of the document would only produce noise."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Builder:
    """Walks one document's nodes into plain data; with `positions`, also records where each path is."""

    def __init__(
        self, source: str, positions: dict[PathTuple, tuple[Position | None, Position]] | None = None
    ) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.positions = positions
        self._alias_budget = MAX_ALIAS_NODES
        self._seen: set[int] = set()
        self._open: set[int] = set()
        self._alias_site: tuple[Node, Node, PathTuple] | None = None  # the outermost alias being expanded

    def document(self, root: Node) -> Any:
        try:
            return self._node(root, (), None, 0)
        except _Stop as stop:
            self.problems.append(stop.problem)
            return None

    def _problem(self, at: Node | Position, path: PathTuple, message: str) -> Problem:
        line, column = at if isinstance(at, tuple) else _mark(at)
        return Problem(self.source, line, column, json_path(path), message)

    def _node(self, node: Node, path: PathTuple, key: Node | None, depth: int, parent: Node | None = None) -> Any:
        # An alias has no node of its own: point at its key, or at the list holding it.
        self._enter(node, path, key or parent or node, depth)
        self._open.add(id(node))
        try:
            if isinstance(node, ScalarNode):
                value = self._scalar(node, path)
            elif isinstance(node, SequenceNode):
                value = self._sequence(node, path, depth)
            else:
                value = self._mapping(cast(MappingNode, node), path, depth)
        finally:
            self._open.discard(id(node))
            if self._alias_site is not None and self._alias_site[0] is node:
                self._alias_site = None
        # Recorded after the children so that a merge (`<<`), which builds its source at this path, cannot
        # leave the source's position here.
        if self.positions is not None:
            self.positions[path] = (_mark(key) if key is not None else None, _mark(node))
        return value

    def _enter(self, node: Node, path: PathTuple, where: Node, depth: int) -> None:
        if id(node) in self._open:
            raise _Stop(self._problem(where, path, (
                "this alias refers to a node that contains it, which would be infinitely deep; "
                "write the value out instead"
            )))  # fmt: skip
        if depth > MAX_DEPTH:
            raise _Stop(self._problem(where, path, too_deep()))
        if id(node) in self._seen:  # reached again: through an alias
            if self._alias_site is None:
                self._alias_site = (node, where, path)
            self._alias_budget -= 1
            if self._alias_budget < 0:
                _, site, site_path = self._alias_site
                raise _Stop(self._problem(site, site_path, (
                    f"aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); "
                    "write the values out or use fewer aliases"
                )))  # fmt: skip
        else:
            self._seen.add(id(node))

    def _scalar(self, node: ScalarNode, path: PathTuple) -> Any:
        if node.tag == PLAIN:
            return resolve_plain(node.value)
        if node.tag not in TAGGED_TYPES and node.tag not in (STR, NULL):
            self._unknown_tag(node, path)
            return None
        value = explicit(node.tag, node.value)
        if value is BAD:
            self.problems.append(self._problem(
                node, path, f"{node.value!r} is not a valid {short_tag(node.tag)}; fix the value or drop the tag"
            ))  # fmt: skip
            return None
        return value

    def _unknown_tag(self, node: Node, path: PathTuple) -> None:
        self.problems.append(self._problem(node, path, (
            f"unknown tag {short_tag(node.tag)}; remove it: a spec holds only plain strings, numbers, "
            "booleans, lists and mappings"
        )))  # fmt: skip

    def _sequence(self, node: SequenceNode, path: PathTuple, depth: int) -> list[Any] | None:
        if node.tag != SEQ:
            self._unknown_tag(node, path)
            return None
        return [self._node(item, path + (i,), None, depth + 1, node) for i, item in enumerate(node.value)]

    def _mapping(self, node: MappingNode, path: PathTuple, depth: int) -> dict[str, Any] | None:
        if node.tag != MAP:
            self._unknown_tag(node, path)
            return None
        pairs = [(k, v) for k, v in node.value if not _is_merge_key(k)]
        result = self._merged(node, path, depth)
        first_seen: dict[str, Node] = {}
        for key_node, value_node in pairs:
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in first_seen:
                self._duplicate(key_node, first_seen[key], path + (key,))
                continue
            first_seen[key] = key_node
            result[key] = self._node(value_node, path + (key,), key_node, depth + 1)
        return result

    def _key(self, node: Node, path: PathTuple) -> str | None:
        if isinstance(node, ScalarNode) and node.tag in (STR, PLAIN):
            value = resolve_plain(node.value) if node.tag == PLAIN else node.value
            if isinstance(value, str):
                return value
            self.problems.append(self._problem(node, path, (
                f"key {node.value!r} is {describe(value)}, not a string; quote it: '{node.value}'"
            )))  # fmt: skip
            return None
        what = "a tagged value" if isinstance(node, ScalarNode) else "a " + (
            "list" if isinstance(node, SequenceNode) else "mapping"
        )  # fmt: skip
        self.problems.append(self._problem(node, path, f"a key must be a plain string, not {what}"))
        return None

    def _duplicate(self, key_node: Node, first: Node, path: PathTuple) -> None:
        self.problems.append(self._problem(key_node, path, (
            f"duplicate key {key_node.value!r} (first at line {_mark(first)[0]}); YAML would silently keep "
            "only the last one: remove one of them"
        )))  # fmt: skip

    def _merged(self, node: MappingNode, path: PathTuple, depth: int) -> dict[str, Any]:
        # `<<: *defaults` (ruamel and PyYAML both honour it). Built first so that the keys written in the
        # mapping itself then replace merged ones, values and positions alike; among several merged
        # mappings the first listed wins.
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not _is_merge_key(key_node):
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in reversed(sources):
                if not isinstance(source, MappingNode):
                    self.problems.append(self._problem(key_node, path, (
                        "a merge key (`<<`) takes a mapping or a list of mappings, such as `<<: *defaults`"
                    )))  # fmt: skip
                    continue
                result.update(self._node(source, path, key_node, depth + 1) or {})
        return result


def _is_merge_key(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == PLAIN and node.value == "<<"
