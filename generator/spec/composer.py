"""A file's text to LibYAML's node trees, every reading mistake a located Problem: the bytes decoded (UTF-8 only,
no NUL), the nesting depth bounded before LibYAML's C composer could recurse too deep, syntax and reader errors
given a line, a column and a hint. Untagged nodes get the loader's tags (spec/scalars.py), so plain scalars are
resolved with YAML 1.2's rules later, not PyYAML's 1.1 ones.

Why LibYAML and not ruamel.yaml's composer (the issue asked for ruamel): both keep a start mark on every
node, but ruamel.yaml 0.19 ships no C extension here, and composing a typical spec costs 5.0 ms with it
against 0.20 ms with PyYAML's LibYAML `CSafeLoader` (measured on examples/, see bench/README.md).
check-jsonschema itself pays ruamel's 5 ms a file, so on ruamel we could never be 2x faster than it over
500 specs.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from generator.yaml_import import MappingNode, Node, SafeLoader as _BaseLoader, ScalarNode, SequenceNode, yaml

from generator.errors import InvalidInput, Problem
from generator.spec.scalars import MAP, PLAIN, SEQ, STR

C_READER = _BaseLoader.__name__ == "CSafeLoader"

MAX_DEPTH = 100
# LibYAML's composer recurses in C and crashes the interpreter somewhere past 20,000 levels. Nesting needs
# one indicator character a level, so a file with fewer of them than this cannot get near that depth.
_SAFE_INDICATORS = 1000

Position = tuple[int, int]


class _Loader(_BaseLoader):
    # LibYAML asks this for every untagged node. Deferring plain scalars to scalars.resolve_plain gives YAML 1.2
    # types instead of PyYAML's 1.1 ones (where `on: yes` is {True: True}) and is cheaper than its regexes.
    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return PLAIN if implicit[0] else STR
        return SEQ if kind is SequenceNode else MAP


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)  # fmt: skip


def decode(raw: bytes, source: str) -> str:
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


def compose_nodes(text: str, source: str) -> list[Node]:
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
            if not C_READER:
                _refuse_surrogate_escapes(roots, text, source)
            return roots
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise InvalidInput([_syntax_problem(exc, text, source)]) from None
    except yaml.reader.ReaderError as exc:
        raise InvalidInput([_reader_problem(exc, text, source)]) from None
    except RecursionError:  # only the pure-Python fallback recurses in Python
        raise InvalidInput([Problem(source, 1, 1, "$", too_deep())]) from None


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
        if not C_READER:
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
                    line, column = mark_position(event.start_mark)
                    raise InvalidInput([Problem(source, line, column, "$", too_deep())])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def too_deep() -> str:
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
    line, column = mark_position(mark)
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
    offset = exc.position if C_READER else len(text[: exc.position].encode("utf-8", "surrogatepass"))
    line, column = _offset_position(raw, min(offset, len(raw)))
    char = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
    return Problem(
        source, line, column, "$",
        f"character U+{char:04X} is not allowed in YAML ({exc.reason}); delete it or write it as an escape "
        "in a double-quoted string",
    )  # fmt: skip



def mark_position(mark: Any) -> Position:  # yaml.Mark, or LibYAML's own Mark class
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)

