"""The schemas' most used `pattern`s answered in plain Python, so that a cold `rollgen validate` compiles no regular
expression for them.

Python compiles a pattern with its own parser and compiler written in Python: the nine a typical spec reaches cost
~10 M of the ~115 M instructions a cold validate spent above `python -c pass` (bench/README.md, "Validate cold
start, second pass"), once per process, every pre-commit run.

MATCHERS maps a pattern's exact text to a function answering exactly what `re.search(pattern, value) is not None`
answers for every str value, quirks included: `$` also matches before a final newline, `\\s` is Unicode
whitespace (str.isspace), `[a-z]` and `[0-9]` are ASCII only. A pattern not in it, or edited in a schema by so much
as a character, is compiled as before (schemacheck._pattern). tests/test_schema_patterns.py holds every matcher to
`re.search` on every short string over the pattern's characters and on many longer random and mutated ones.

Every pattern here starts with `^` and ends with `$`, and none can match a newline, so `re.search` matches a
value exactly when its body matches the whole value or, if the value ends with one newline, the value without it
(`_anchored`).
"""

from __future__ import annotations

from collections.abc import Callable

_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_HEX = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")


def _anchored(body: Callable[[str], bool]) -> Callable[[str], bool]:
    """`^body$` as re.search reads it: the whole value, or the value without a final newline."""

    def match(value: str) -> bool:
        return body(value) or (value[-1:] == "\n" and body(value[:-1]))

    return match


def _only(value: str, allowed: frozenset[str]) -> bool:
    return allowed.issuperset(value)


def _dns_label(value: str) -> bool:
    """[a-z0-9]([-a-z0-9]*[a-z0-9])?"""
    return bool(value) and value[0] in _LOWER_ALNUM and value[-1] in _LOWER_ALNUM and _only(value, _LABEL_CHARS)


_LABEL_CHARS = _LOWER_ALNUM | {"-"}


def _dns_subdomain(value: str) -> bool:
    """[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*: labels joined by dots."""
    return all(_dns_label(label) for label in value.split("."))


_LABEL_VALUE_CHARS = _ALNUM | {"-", "_", "."}


def _label_value(value: str) -> bool:
    """(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?: empty, or alphanumeric at both ends."""
    return not value or (value[0] in _ALNUM and value[-1] in _ALNUM and _only(value, _LABEL_VALUE_CHARS))


def _label_name(value: str) -> bool:
    """[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"""
    return len(value) <= 63 and bool(value) and _label_value(value)


def _label_key(value: str) -> bool:
    """((?=[^/]{1,253}/)SUBDOMAIN/)?NAME. Neither part holds a `/`, so a prefix ends at the first one, which the
    lookahead wants 1 to 253 characters in."""
    if _label_name(value):
        return True
    slash = value.find("/")
    return 1 <= slash <= 253 and _dns_subdomain(value[:slash]) and _label_name(value[slash + 1 :])


_DIGEST = "@sha256:"


def _hex64(value: str) -> bool:
    return len(value) == 64 and _only(value, _HEX)


_TAG_CHARS = _ALNUM | {"_", ".", "-"}


def _tag(value: str) -> bool:
    """[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"""
    return 1 <= len(value) <= 128 and (value[0] in _ALNUM or value[0] == "_") and _only(value, _TAG_CHARS)


_PATH_CHARS = _LOWER_ALNUM | {".", "_", "-"}


def _path_component(value: str) -> bool:
    """[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*: runs of [a-z0-9] split by `.`, `_`, `__` or any number of `-`."""
    if not value or value[0] not in _LOWER_ALNUM or value[-1] not in _LOWER_ALNUM or not _only(value, _PATH_CHARS):
        return False
    separator = ""
    for char in value:
        if char in _LOWER_ALNUM:
            if separator and separator not in (".", "_", "__") and separator.strip("-"):
                return False
            separator = ""
        else:
            separator += char
    return True


_HOST_LABEL_CHARS = _ALNUM | {"-"}


def _host(value: str) -> bool:
    """[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]+)?"""
    name, colon, port = value.partition(":")
    if colon and not (port and _only(port, _DIGITS)):
        return False
    return all(
        label and label[0] in _ALNUM and label[-1] in _ALNUM and _only(label, _HOST_LABEL_CHARS)
        for label in name.split(".")
    )


def _image_name(value: str) -> bool:
    """(HOST/)?COMPONENT(/COMPONENT)*: no part holds a `/`, so the parts are the `/`-separated pieces."""
    parts = value.split("/")
    if all(_path_component(part) for part in parts):
        return True
    return len(parts) > 1 and _host(parts[0]) and all(_path_component(part) for part in parts[1:])


def _image(value: str) -> bool:
    """NAME(:TAG(@sha256:HEX64)?|@sha256:HEX64). A tag holds no `:` or `@`, so it follows the last `:` before
    the digest (when there is one)."""
    before, at, digest = value.rpartition(_DIGEST)
    if at and _hex64(digest):
        if _image_name(before):  # NAME@sha256:HEX
            return True
        rest = before
    else:
        rest = value
    name, colon, tag = rest.rpartition(":")
    return bool(colon) and _tag(tag) and _image_name(name)


def _duration(value: str) -> bool:
    """([0-9]+h)?([0-9]+m)?([0-9]+s)?: empty included."""
    for unit in "hms":
        number, found, rest = value.partition(unit)
        if found and number and _only(number, _DIGITS):
            value = rest
    return not value


_URL_HOST_CHARS = _ALNUM | {".", "-"}


def _http_url(value: str) -> bool:
    """https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[^\\s]*)?"""
    for scheme in ("https://", "http://"):
        if value.startswith(scheme):
            rest = value[len(scheme) :]
            break
    else:
        return False
    slash = rest.find("/")
    authority, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    host, colon, port = authority.partition(":")
    if colon and not (1 <= len(port) <= 5 and _only(port, _DIGITS)):
        return False
    if not (host and host[0] in _ALNUM and host[-1] in _ALNUM and _only(host, _URL_HOST_CHARS)):
        return False
    return not any(char.isspace() for char in path)


_URL_PATH_CHARS = _ALNUM | {"_", "/", "-"}
_UNRESERVED = _ALNUM | {".", "~", "-"}
_REPO_PATH_CHARS = _ALNUM | {".", "_", "/", "-"}


def _outside_repository(value: str) -> bool:
    """(^/|^\\.\\.(/|$)|/\\.\\.(/|$)|\\\\), searched anywhere: a leading `/`, a backslash, or a `..` that starts the
    value or follows a `/` and ends it (before a final newline too) or is followed by `/`."""
    if value.startswith("/") or "\\" in value:
        return True
    start = value.find("..")
    while start >= 0:
        if start == 0 or value[start - 1] == "/":
            after = value[start + 2 :]
            if after in ("", "\n") or after.startswith("/"):
                return True
        start = value.find("..", start + 1)
    return False


MATCHERS: dict[str, Callable[[str], bool]] = {
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": _anchored(_dns_label),
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$": _anchored(_dns_subdomain),
    r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$": _anchored(_label_value),
    r"^((?=[^/]{1,253}/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]"
    r"([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$": _anchored(_label_key),
    r"^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]+)?/)?"
    r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$": _anchored(_image),
    r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$": _anchored(_duration),
    r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[^\s]*)?$": _anchored(_http_url),
    r"^/[A-Za-z0-9_/-]*$": _anchored(lambda value: value[:1] == "/" and _only(value, _URL_PATH_CHARS)),
    r"^[A-Za-z0-9.~-]+$": _anchored(lambda value: bool(value) and _only(value, _UNRESERVED)),
    r"^[A-Za-z0-9][A-Za-z0-9._/-]*$": _anchored(lambda value: value[:1] in _ALNUM and _only(value, _REPO_PATH_CHARS)),
    r"(^/|^\.\.(/|$)|/\.\.(/|$)|\\)": _outside_repository,
}
