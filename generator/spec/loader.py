"""YAML with positions: plain data for validation, and the line/column of every node for problem reports.

Why LibYAML and not ruamel.yaml's composer (the issue asked for ruamel): both keep a start mark on every
node, but ruamel.yaml 0.19 ships no C extension here, and composing a typical spec costs 5.0 ms with it
against 0.20 ms with PyYAML's LibYAML `CSafeLoader` (measured on examples/, see bench/README.md).
check-jsonschema itself pays ruamel's 5 ms a file, so on ruamel we could never be 2x faster than it over
500 specs. What ruamel gave us besides marks was YAML 1.2 semantics; we keep those by resolving plain
scalars ourselves with ruamel's 1.2 rules (`yes`/`on` stay strings, `012` is 12), and the tests hold the
data to `ruamel.yaml`'s on every example.

The data is built by walking the node tree ourselves rather than by a constructor, so that every
file-level mistake (duplicate or non-string keys, alias bombs, unknown tags, ...) becomes a located
Problem instead of an exception or, worse, a silently kept last value.
"""

from __future__ import annotations

import codecs
import errno
import math
import os
import re
from generator.records import dataclass, field
from pathlib import Path
from typing import Any, cast

from generator.yaml_import import MappingNode, Node, SafeLoader as _BaseLoader, ScalarNode, SequenceNode, yaml

from generator.errors import InvalidInput, Problem, json_path

_C_READER = _BaseLoader.__name__ == "CSafeLoader"

MAX_BYTES = 1024 * 1024
MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 100
# LibYAML's composer recurses in C and crashes the interpreter somewhere past 20,000 levels. Nesting needs
# one indicator character a level, so a file with fewer of them than this cannot get near that depth.
_SAFE_INDICATORS = 1000

PathTuple = tuple[str | int, ...]
Position = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = _TAG + "map", _TAG + "seq"
_PLAIN = "rollgen:plain"  # an untagged plain scalar: resolved by _resolve_plain below

# ruamel.yaml's YAML 1.2 implicit types (ruamel/yaml/resolver.py), timestamps left as strings. Kept as text and
# matched through re's own cache: compiled on first use only, as most specs' numbers are plain digits (below).
_INT_RE = r"[-+]?(?:0b[01_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+)\Z"
_FLOAT_RE = (
    r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+][0-9]+)?)\Z"
)
# Every character either pattern can match: a scalar with any other (`30s`, `.inf`, `1.2.3-rc`) is neither; nor is
# one without a digit or `_` (`.`, `-`), as every branch of both needs one.
_NUMBER_CHARS = frozenset("-+0123456789_.boxabcdefABCDEF")
_NUMBER_NEEDS = frozenset("0123456789_")
_SPECIAL_FLOATS = {
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}  # fmt: skip
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_NUMERIC_START = frozenset("-+.0123456789")


class _Loader(_BaseLoader):
    # LibYAML asks this for every untagged node. Deferring plain scalars to _resolve_plain gives YAML 1.2
    # types instead of PyYAML's 1.1 ones (where `on: yes` is {True: True}) and is cheaper than its regexes.
    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP


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
    decoded = _decode(text, display) if isinstance(text, bytes) else text
    roots = _compose(decoded.removeprefix("\ufeff"), display)
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
        return Document(None, source, 0, ScalarNode(_PLAIN, "", yaml.Mark(source, 0, 0, 0, "", 0)))
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


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)  # fmt: skip


def _decode(raw: bytes, source: str) -> str:
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            raise InvalidInput([Problem(source, 1, 1, "$", f"file is {name}-encoded; save it as UTF-8")])
    nul = raw.find(b"\0")
    if nul >= 0:
        line, column = _offset_position(raw, nul)
        raise InvalidInput([Problem(
            source, line, column, "$",
            "file contains a NUL byte, so it is binary, not YAML text; point rollgen at the spec's .yaml file",
        )])  # fmt: skip
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _offset_position(raw, exc.start)
        raise InvalidInput([Problem(
            source, line, column, "$",
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
        )]) from None  # fmt: skip


def _offset_position(raw: bytes, offset: int) -> Position:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", "replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, column


def _compose(text: str, source: str) -> list[Node]:
    try:
        if sum(text.count(c) for c in "[{-:?") > _SAFE_INDICATORS:
            _check_depth(text, source)
        loader = _Loader(text)
        try:
            roots = []
            while loader.check_node():
                root = loader.get_node()
                if root is not None:
                    roots.append(root)
            if not _C_READER:
                _refuse_surrogate_escapes(roots, text, source)
            return roots
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise InvalidInput([_syntax_problem(exc, text, source)]) from None
    except yaml.reader.ReaderError as exc:
        raise InvalidInput([_reader_problem(exc, text, source)]) from None
    except RecursionError:  # only the pure-Python fallback recurses in Python
        raise InvalidInput([Problem(source, 1, 1, "$", _too_deep())]) from None


# Only the pure-Python fallback needs these: matched through re's cache, compiled on first use (~3 M instructions).
_SURROGATE = "[\ud800-\udfff]"
_SURROGATE_ESCAPE = r"\\(?:u|U0000)(?=[dD][89a-fA-F][0-9a-fA-F]{2})"


def _refuse_surrogate_escapes(roots: list[Node], text: str, source: str) -> None:
    # LibYAML refuses "\ud800" (half of a UTF-16 pair names no character); PyYAML's pure-Python scanner
    # accepts it and returns a string no file can hold. Refuse it the same way, at the same place.
    stack: list[Node] = list(roots)
    seen: set[int] = set()  # aliases share nodes (and may loop): visit each node once
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode) and re.search(_SURROGATE, node.value):
            found = re.compile(_SURROGATE_ESCAPE).search(text, node.start_mark.index, node.end_mark.index)
            offset = found.end() if found else node.start_mark.index
            line = text.count("\n", 0, offset) + 1
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            hint = dict(_SYNTAX_HINTS)["escape"]
            message = f"YAML syntax error: found invalid Unicode character escape code; {hint}"
            raise InvalidInput([Problem(source, line, column, "$", message)])
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            stack.extend(part for pair in node.value for part in pair)


def _check_depth(text: str, source: str) -> None:
    # LibYAML's parser keeps its own stack, so walking events is safe at any depth where composing is not.
    # LibYAML 0.2.5 and later (the PyYAML 6.0.2+ wheels) also stop at 1,000 levels, and its scanner reads
    # every opening bracket before the first event, so that error can come before our own limit is seen.
    # PyYAML's pure-Python parser has no limit of its own and looks ahead at most 1,024 characters: walking
    # with it then finds the 101st level, on any PyYAML and with or without LibYAML.
    try:
        _walk_depth(_Loader, text, source)
    except yaml.MarkedYAMLError:
        if not _C_READER:
            raise
        _walk_depth(yaml.SafeLoader, text, source)
        raise


def _walk_depth(loader_class: Any, text: str, source: str) -> None:
    loader = loader_class(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    line, column = _mark_position(event.start_mark)
                    raise InvalidInput([Problem(source, line, column, "$", _too_deep())])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def _too_deep() -> str:
    return f"the data nests more than {MAX_DEPTH} levels deep; a release spec needs fewer than ten"


_SYNTAX_HINTS = (
    ("mapping values are not allowed", "quote the value if it contains ': ', or fix the indentation"),
    ("could not find expected ':'", "a line lacks its `key: value` colon or is indented differently"),
    ("did not find expected key", "this line's indentation does not match the lines above it"),
    ("did not find expected '-'", "this line's indentation does not match the list items above it"),
    ("expected ',' or ']'", "separate the list's items with commas and close it with ]"),
    ("expected ',' or '}'", "separate the mapping's entries with commas and close it with }"),
    ("expected node content", "a value is missing here: close the bracket or quote opened above, or quote the value"),
    ("undefined alias", "define the anchor (`&name`) before using the alias (`*name`)"),
    ("found duplicate anchor", "give each anchor (`&name`) a different name"),
    ("escape", "fix the backslash escape (\\uXXXX names a character, not a UTF-16 half), or use single quotes"),
    ("unexpected end of stream", "close the quote or bracket opened earlier"),
    ("found unexpected end", "close the quote or bracket opened earlier"),
)


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = _mark_position(mark)
    what = exc.problem or exc.context or "invalid YAML"
    if exc.problem and exc.context and exc.context_mark:
        what += f" ({exc.context} started at line {exc.context_mark.line + 1})"
    return Problem(source, line, column, "$", f"YAML syntax error: {what}; {_syntax_hint(exc, text, mark)}")


def _syntax_hint(exc: yaml.MarkedYAMLError, text: str, mark: yaml.Mark | None) -> str:
    if mark is not None and _char_at(text, mark) == "\t":
        return "indent with spaces: YAML does not allow tabs for indentation"
    problem = f"{exc.problem or ''} {exc.context or ''}"  # LibYAML names a duplicate anchor in the context
    for needle, hint in _SYNTAX_HINTS:
        if needle in problem:
            return hint
    if "cannot start any token" in problem:
        return "quote the value: it starts with a character YAML reserves (such as @ or `)"
    return "check the indentation and quoting around here"


def _char_at(text: str, mark: Any) -> str:
    lines = text.split("\n", mark.line + 1)
    return lines[mark.line][mark.column : mark.column + 1] if mark.line < len(lines) else ""


def _reader_problem(exc: yaml.reader.ReaderError, text: str, source: str) -> Problem:
    # LibYAML counts the position in UTF-8 bytes, the pure-Python reader in characters.
    raw = text.encode("utf-8", "surrogatepass")
    offset = exc.position if _C_READER else len(text[: exc.position].encode("utf-8", "surrogatepass"))
    line, column = _offset_position(raw, min(offset, len(raw)))
    char = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
    return Problem(
        source, line, column, "$",
        f"character U+{char:04X} is not allowed in YAML ({exc.reason}); delete it or write it as an escape "
        "in a double-quoted string",
    )  # fmt: skip


def _mark(node: Node) -> Position:
    return _mark_position(node.start_mark)


def _mark_position(mark: Any) -> Position:  # yaml.Mark, or LibYAML's own Mark class
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _PLAIN and node.value == ""


def _resolve_plain(value: str) -> Any:
    first = value[:1]
    if first in _NUMERIC_START:
        return _resolve_number(value)
    if value in _NULLS:
        return None
    return _BOOLS.get(value, value)


def _resolve_number(value: str) -> Any:
    # The shapes almost every spec's numbers and durations have, answered without the patterns (each costs
    # ~1 M instructions to compile): ASCII digits alone are what _INT_RE's `[0-9_]+` matches; digits, a point
    # and maybe more digits (`0.5`) what _FLOAT_RE's first branch matches and _INT_RE cannot; a character no
    # pattern can match leaves a special float or the text. tests/spec/test_loader.py holds this equal to the patterns.
    if value.isdigit() and value.isascii():
        return _to_int(value)
    whole, point, fraction = value.partition(".")
    if point and whole.isdigit() and whole.isascii() and (fraction.isdigit() or not fraction) and fraction.isascii():
        return float(value)
    if not _NUMBER_CHARS.issuperset(value) or _NUMBER_NEEDS.isdisjoint(value):
        return _SPECIAL_FLOATS.get(value, value)
    if re.match(_INT_RE, value) and value.strip("-+_"):
        return _to_int(value)
    if value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if re.match(_FLOAT_RE, value):
        try:
            return float(value.replace("_", ""))
        except ValueError:  # `._`, `-._`: the pattern's shape, but no digit: text, as YAML 1.2 reads it
            return value
    return value


def _to_int(value: str) -> int | str:
    digits = value.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("-+")
    if not digits:
        return value
    base = {"0b": 2, "0x": 16, "0o": 8}.get(digits[:2], 10)
    if base != 10:
        digits = digits[2:]
    try:  # base 10 reads `012` as twelve: YAML 1.2 has no C-style octal
        return sign * int(digits, base)
    except ValueError:
        return value


_BAD = object()  # an explicitly tagged scalar whose text does not fit its tag
_TAGGED_TYPES: dict[str, type] = {_INT: int, _FLOAT: float, _BOOL: bool}


def _explicit(tag: str, value: str) -> Any:
    if tag == _STR:
        return value
    if tag == _NULL:
        return None if value in _NULLS else _BAD
    parsed = _resolve_plain(value)
    if tag == _FLOAT and type(parsed) is int:
        return float(parsed)
    return parsed if type(parsed) is _TAGGED_TYPES.get(tag) else _BAD


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "an integer", float: "a number"}.get(type(value), "a " + type(value).__name__)


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
            raise _Stop(self._problem(where, path, _too_deep()))
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
        if node.tag == _PLAIN:
            return _resolve_plain(node.value)
        if node.tag not in _TAGGED_TYPES and node.tag not in (_STR, _NULL):
            self._unknown_tag(node, path)
            return None
        value = _explicit(node.tag, node.value)
        if value is _BAD:
            self.problems.append(self._problem(
                node, path, f"{node.value!r} is not a valid {_short_tag(node.tag)}; fix the value or drop the tag"
            ))  # fmt: skip
            return None
        return value

    def _unknown_tag(self, node: Node, path: PathTuple) -> None:
        self.problems.append(self._problem(node, path, (
            f"unknown tag {_short_tag(node.tag)}; remove it: a spec holds only plain strings, numbers, "
            "booleans, lists and mappings"
        )))  # fmt: skip

    def _sequence(self, node: SequenceNode, path: PathTuple, depth: int) -> list[Any] | None:
        if node.tag != _SEQ:
            self._unknown_tag(node, path)
            return None
        return [self._node(item, path + (i,), None, depth + 1, node) for i, item in enumerate(node.value)]

    def _mapping(self, node: MappingNode, path: PathTuple, depth: int) -> dict[str, Any] | None:
        if node.tag != _MAP:
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
        if isinstance(node, ScalarNode) and node.tag in (_STR, _PLAIN):
            value = _resolve_plain(node.value) if node.tag == _PLAIN else node.value
            if isinstance(value, str):
                return value
            self.problems.append(self._problem(node, path, (
                f"key {node.value!r} is {_describe(value)}, not a string; quote it: '{node.value}'"
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
    return isinstance(node, ScalarNode) and node.tag == _PLAIN and node.value == "<<"
