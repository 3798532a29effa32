"""The release and profile schemas: the fast yes/no check, then jsonschema's errors explained as located, fixable
messages (an unknown field with its likely meaning, a wrong type with what was given)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from generator import resources
from generator.errors import Problem
from generator.spec import schemacheck
from generator.spec.findings import Finding, Located, closest, did_you_mean, locate

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

RELEASE_SCHEMA = "release.schema.json"
PROFILE_SCHEMA = "profile.schema.json"


# --- schema validation ------------------------------------------------------------------------------------------


@functools.cache
def load_schema(schema_name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.schema_path(schema_name).read_text(encoding="utf-8"))
    return schema


@functools.cache
def quick_check(schema_name: str) -> schemacheck.Check | None:
    """The yes/no check that spares a valid document the import of jsonschema (generator/spec/schemacheck.py);
    None if the schema uses a keyword it does not implement, and then jsonschema decides every document."""
    try:
        return schemacheck.compile_schema(load_schema(schema_name), lazy_refs=True)
    except schemacheck.Unsupported:
        return None


@functools.cache
def validator(schema_name: str) -> Draft202012Validator:
    """Compiled once per process; no format checker (the patterns in the schema do that work, faster).
    Imported here, not at the top: only documents that quick_check rejects need it."""
    from jsonschema import Draft202012Validator

    schema = load_schema(schema_name)
    return Draft202012Validator(inline_refs(schema, schema.get("$defs", {})))


def inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its target: validation runs three times faster without
    reference lookups. Our schemas have no recursive definitions, and the keywords beside a `$ref` are only
    annotations (title, description), so merging them into the target keeps the meaning."""
    if isinstance(node, list):
        return [inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[str(node["$ref"]).removeprefix("#/$defs/")]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return inline_refs({**target, **siblings}, defs)
    return {key: inline_refs(value, defs) for key, value in node.items() if key != "$defs"}


def schema_problems(doc: Located, schema_name: str = RELEASE_SCHEMA) -> list[Problem]:
    """Every schema violation of the document, located and explained, in document order."""
    check = quick_check(schema_name)
    try:
        if check is not None and check(doc.data):
            return []
    except schemacheck.Unsupported:
        pass  # a part of the schema the quick check cannot compile: jsonschema decides
    errors = list(validator(schema_name).iter_errors(doc.data))
    typos = typo_targets(errors)
    # A misspelt required field is one mistake: "unknown field 'stpes'; did you mean 'steps'?" says it all.
    findings = [f for e in errors for f in explain(e) if not (e.validator == "required" and f.path in typos)]
    problems = {locate(doc, finding) for finding in findings}
    return sorted(problems, key=lambda p: (p.line, p.column, p.path, p.message))


def typo_targets(errors: Iterable[ValidationError]) -> set[tuple[str | int, ...]]:
    """Paths of the fields that unknown fields in the same mapping were probably meant to be."""
    targets: set[tuple[str | int, ...]] = set()
    for error in errors:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = list(error.schema.get("properties", {}))
            for key in error.instance:
                match = closest(key, allowed) if key not in allowed else None
                if match is not None:
                    targets.add((*error.absolute_path, match))
    return targets


def explain(error: ValidationError) -> Iterator[Finding]:
    path = tuple(error.absolute_path)
    if "propertyNames" in error.relative_schema_path:
        yield from explain_property_name(error, path)
        return
    handler = EXPLAINERS.get(str(error.validator))
    if handler is not None:
        yield from handler(error, path)
    else:
        yield Finding(path, error.message)


def explain_additional(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    allowed = sorted(error.schema.get("properties", {}))
    for key in error.instance:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f"; allowed here: {', '.join(allowed)}"
            yield Finding((*path, key), f"unknown field {key!r}{hint}", at_key=True)


def explain_required(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    properties = error.schema.get("properties", {})
    for key in error.validator_value:
        if key not in error.instance:
            about = properties.get(key, {}).get("description", "")
            yield Finding((*path, key), f"required field {key!r} is missing" + (f": {about}" if about else ""))


def explain_type(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    expected = hint(error) or "a " + TYPE_NAMES.get(str(error.validator_value), str(error.validator_value))
    if not path and "title" in error.schema:
        expected += f" (a {error.schema['title']} with apiVersion, kind, metadata and spec)"
        # The whole document is one value: not a spec at all (a token, /etc/passwd): say what, never show it.
        yield Finding(path, f"expected {expected}, got {kind_of(error.instance)}")
        return
    yield Finding(path, f"expected {expected}, got {describe(error.instance)}")


def explain_const(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    yield Finding(path, f"must be {error.validator_value!r}, got {describe(error.instance)}")


def explain_enum(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    choices = [str(choice) for choice in error.validator_value]
    suggestion = did_you_mean(error.instance, choices) if isinstance(error.instance, str) else ""
    allowed = f"must be {choices[0]}" if len(choices) == 1 else f"must be one of {', '.join(choices)}"
    yield Finding(path, f"{allowed}; got {describe(error.instance)}{suggestion}")


def explain_text(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    """pattern, minLength, maxLength: the schema's errorMessage says what the value should look like."""
    value = str(error.instance)
    shown = describe(value)
    if error.validator == "maxLength":
        shown += f" ({len(value)} characters, at most {error.validator_value})"
    expected = hint(error)
    if not expected and error.validator == "maxLength":  # no pattern to describe: the length is the problem
        yield Finding(path, f"{shown} is too long; shorten it")
    elif not expected and error.validator == "minLength":
        yield Finding(path, f"{shown} is too short: give at least {error.validator_value} character(s)")
    else:
        expected = expected or f"a string matching {error.schema.get('pattern', '')!r}"
        fixed = image_case_fix(value, error.schema.get("pattern") if error.validator == "pattern" else None)
        yield Finding(path, f"{shown} {image_case_message(fixed)}" if fixed else f"{shown} is not {expected}")


def image_case_message(fixed: str) -> str:
    return f"has capitals in its repository path, which an image reference cannot have; write {fixed}"


def image_case_fix(value: str, pattern: str | None) -> str:
    """For an image reference wrong only by its capitals, how it reads right (the repository path is lowercase;
    the registry's host name and the tag may have capitals); "" otherwise."""
    if not pattern or not pattern.startswith("^([A-Za-z0-9]") or value == value.lower():
        return ""
    import re

    name, at, digest = value.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    repository, tag = (name[:colon], name[colon:]) if colon > slash else (name, "")
    host, _, rest = repository.partition("/")
    if rest and ("." in host or ":" in host or host == "localhost"):
        fixed = f"{host}/{rest.lower()}{tag}{at}{digest}"
    else:
        fixed = f"{repository.lower()}{tag}{at}{digest}"
    return fixed if fixed != value and re.fullmatch(pattern, fixed) is not None else ""


def explain_range(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    low, high = error.schema.get("minimum"), error.schema.get("maximum")
    if low is not None and high is not None:
        bounds = f"from {low} to {high}"
    else:
        bounds = f"at least {low}" if low is not None else f"at most {high}"
    yield Finding(path, f"{error.instance} is out of range: must be {bounds}")


def explain_items(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    if error.validator == "minItems":
        yield Finding(
            path, f"needs at least {error.validator_value} entr{'y' if error.validator_value == 1 else 'ies'}"
        )
    else:
        yield Finding(path, f"has {len(error.instance)} entries; at most {error.validator_value} are allowed")


def explain_properties(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    schema = error.schema
    if schema.get("minProperties") == schema.get("maxProperties") == 1:
        choices = " | ".join(schema.get("properties", {}))
        found = ", ".join(error.instance) or "none"
        yield Finding(path, f"give exactly one of {choices} (found: {found})")
    elif error.validator == "maxProperties":
        yield Finding(path, f"has {len(error.instance)} entries; at most {error.validator_value} are allowed")
    else:
        yield Finding(path, f"needs at least {error.validator_value} entries")


def explain_dependent(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    for key, needed in error.validator_value.items():
        missing = [name for name in needed if key in error.instance and name not in error.instance]
        for name in missing:
            yield Finding((*path, key), f"{key} needs {name}: add {name}, or remove {key}", at_key=True)


def explain_alternatives(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    """anyOf/oneOf: the schema's own errorMessage, else the most relevant branch's error, never all of them."""
    from jsonschema.exceptions import best_match

    message = error.schema.get("errorMessage")
    if message:
        yield Finding(path, str(message))
        return
    best = best_match(error.context) if error.context else None
    if best is None:
        yield Finding(path, error.message)
    else:
        yield from explain(best)


def explain_property_name(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Finding]:
    key = str(error.instance)
    expected = hint(error) or "a valid name"
    yield Finding((*path, key), f"key {key!r} is not {expected}", at_key=True)


def hint(error: ValidationError) -> str:
    return str(error.schema.get("errorMessage", "")) if isinstance(error.schema, dict) else ""


TYPE_NAMES = {
    "object": "mapping",
    "array": "list",
    "string": "string",
    "integer": "whole number",
    "number": "number",
    "boolean": "boolean (true or false)",
}

EXPLAINERS = {
    "additionalProperties": explain_additional,
    "required": explain_required,
    "type": explain_type,
    "const": explain_const,
    "enum": explain_enum,
    "pattern": explain_text,
    "minLength": explain_text,
    "maxLength": explain_text,
    "minimum": explain_range,
    "maximum": explain_range,
    "minItems": explain_items,
    "maxItems": explain_items,
    "minProperties": explain_properties,
    "maxProperties": explain_properties,
    "dependentRequired": explain_dependent,
    "anyOf": explain_alternatives,
    "oneOf": explain_alternatives,
    "not": explain_alternatives,  # the schema's errorMessage says what is excluded (maxIncrease: ratio or delta)
}


def kind_of(value: Any) -> str:
    """What a value is, without any of its content."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters" if value else "an empty string"
    return describe(value)


def describe(value: Any) -> str:
    """A value as a message shows it: strings quoted and cut short (a URL's credentials left out), other
    types named."""
    if isinstance(value, str):
        from generator import redaction  # here: only a problem's message needs it (its patterns cost ~1 ms to compile)

        value = redaction.redact(value)  # linear: a quadratic pattern here blocked pre-commit on 300 KB
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return "a mapping" if isinstance(value, dict) else "a list"
