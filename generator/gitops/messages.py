"""Commit messages: subject and body from a Jinja2 template (sandboxed), then the Rollgen-* trailers.

The template comes from rollgen.yaml (`commit.template`) or DEFAULT_TEMPLATE. User strings (names, images,
reasons) reach it only as values of variables: nothing a spec says is ever compiled as a template. The
trailers are appended by rollgen after the template's text, so a template can reword the message but cannot
drop or corrupt the machine-readable record (docs/tutorial.md: the history is the git log).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from generator.records import dataclass
from pathlib import Path
from typing import Any

from generator.errors import RollgenError
from generator.spec.config import CONFIG_FILE

DEFAULT_TEMPLATE = """\
{{ release }}/{{ environment }}: {{ summary }}

{{ details }}
"""

TRAILER_KEYS = (
    "Rollgen-Release",
    "Rollgen-Environment",
    "Rollgen-Action",
    "Rollgen-Step",
    "Rollgen-Weight",
    "Rollgen-Image",
)
_TRAILER_LINE = re.compile(r"^(Rollgen-[A-Za-z]+):[ \t]*(.*)$")


@dataclass(frozen=True)
class Record:
    """What one commit did: the trailers, and what the template may show."""

    release: str
    environment: str
    action: str
    step: int
    steps: int
    weight: int
    image: str
    summary: str
    details: str = ""
    extra: tuple[tuple[str, Any], ...] = ()  # further template variables (phase, engine, images, since)
    gate: str = ""  # metrics beyond their thresholds (gates.py): trailer Rollgen-Gate, only when set
    change: str = ""  # what a start changes in the pod ("image", "config, env"): trailer Rollgen-Change
    override: str = ""  # what a person overrode ("order": environments[].after): trailer Rollgen-Override

    def trailers(self) -> list[tuple[str, str]]:
        values = (
            self.release,
            self.environment,
            self.action,
            f"{self.step}/{self.steps}",
            str(self.weight),
            self.image,
        )
        out = list(zip(TRAILER_KEYS, values))
        if self.change:
            out.append(("Rollgen-Change", self.change))
        if self.gate:
            out.append(("Rollgen-Gate", " ".join(self.gate.split())))  # one line, whatever the metric said
        if self.override:
            out.append(("Rollgen-Override", self.override))
        return out

    def variables(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update(
            release=self.release,
            environment=self.environment,
            action=self.action,
            step=self.step,
            steps=self.steps,
            weight=self.weight,
            image=self.image,
            summary=self.summary,
            details=self.details,
            gate=self.gate,
            change=self.change,
        )
        return out


def compose(record: Record, template: str | None = None) -> str:
    """The whole commit message: templated subject and body, a blank line, the trailers."""
    variables = record.variables()
    text = render_text(template, variables) if template else _default_text(variables)
    trailers = "\n".join(f"{key}: {value}" for key, value in record.trailers())
    return f"{text}\n\n{trailers}\n"


def _default_text(variables: Mapping[str, Any]) -> str:
    """DEFAULT_TEMPLATE without loading Jinja2 (~25 ms of a scheduled tick); a test holds the two equal."""
    text = f"{variables['release']}/{variables['environment']}: {variables['summary']}\n\n{variables['details']}\n"
    return _tidy(text)


TEMPLATE_SECONDS = 2.0  # a commit message renders in well under a millisecond; a template past this loops
TEMPLATE_OUTPUT = 64 * 1024  # characters; git and every log viewer choke long before a real message gets here
_REFUSED_TAGS = ("Include", "Import", "FromImport", "Extends")  # there is no other template to load


class TemplateFailure(RollgenError):
    """commit.template cannot make a message: `line` of the template (0 when unknown) and why."""

    def __init__(self, line: int, why: str) -> None:
        at = f"line {line} of the template: " if line else ""
        super().__init__(f"{CONFIG_FILE}: $.commit.template: {at}{why}; fix the template")
        self.line = line
        self.why = why

    def located(self, root: Path) -> str:
        """The message as FILE:LINE:COL: $.commit.template: ..., pointing at the template in rollgen.yaml."""
        from generator.spec.config import located

        at = f"line {self.line} of the template: " if self.line else ""
        why = f"{at}{self.why}; fix the template"
        try:
            return located(root, [(("commit", "template"), why)])[0].format()
        except Exception:  # noqa: BLE001 - the location is a courtesy; the message stands without it
            return f"{CONFIG_FILE}:0:0: $.commit.template: {why}"


def render_text(template: str, variables: Mapping[str, Any]) -> str:
    """The template's output with trailing whitespace trimmed; its first non-empty line is the subject.

    Sandboxed (no attribute of a Python object beyond the safe ones), and bounded: no include/import (there
    is nothing to load), TEMPLATE_SECONDS of work, TEMPLATE_OUTPUT characters, no huge `*`/`**`/`%` values,
    recursion within Python's limit. Each failure is a TemplateFailure naming the template's line."""
    from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError

    env = _BoundedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    try:
        _refuse_loading(env, template)
        out = _bounded_render(env.from_string(template), variables)
    except TemplateSyntaxError as exc:
        raise TemplateFailure(exc.lineno or 0, f"{type(exc).__name__}: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateFailure(_template_line(exc), f"{type(exc).__name__}: {exc}") from None
    except _OverBudget as exc:
        raise TemplateFailure(exc.line, exc.why) from None
    except RecursionError:
        raise TemplateFailure(0, "it recurses too deeply (a macro calling itself without end?)") from None
    except (MemoryError, OverflowError, ValueError, TypeError) as exc:
        raise TemplateFailure(0, f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return _tidy(out)


class _OverBudget(BaseException):
    """Raised inside the render (a BaseException: no `except Exception` on the way may swallow it)."""

    def __init__(self, why: str, line: int = 0) -> None:
        super().__init__(why)
        self.why = why
        self.line = line


def _bounded_environment_class() -> type:
    from jinja2.sandbox import SandboxedEnvironment

    class BoundedEnvironment(SandboxedEnvironment):
        """The sandbox, with `*`, `**` and `%` checked before they build a huge value."""

        intercepted_binops = frozenset(["*", "**", "%"])

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            # Filters with a width or a count (center, indent, wordwrap, truncate, batch, ...) would allocate it.
            self.filters = {name: _bounded_call(f) for name, f in self.filters.items()}

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

        def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            # 'x'.ljust(10**9) and the like; range() keeps the sandbox's own limit.
            if __obj is not self.globals.get("range"):
                _check_sizes(args, kwargs)
            return super().call(__context, __obj, *args, **kwargs)

    return BoundedEnvironment


def _BoundedEnvironment(**options: Any) -> Any:  # noqa: N802 - a class made on first use (Jinja2 loads lazily)
    return _bounded_environment_class()(**options)


def _check_sizes(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > TEMPLATE_OUTPUT:
            raise _OverBudget(f"an argument of {value}: more than the {TEMPLATE_OUTPUT} characters a message may have")


def _bounded_call(function: Any) -> Any:
    """The filter, refusing sizes beyond TEMPLATE_OUTPUT in its arguments (not in the value it filters)."""
    import functools

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        # Jinja2 passes the context or environment first to some filters: check whatever is not the value.
        _check_sizes(args[2:] if args and not _plain(args[0]) else args[1:], kwargs)
        return function(*args, **kwargs)

    return bounded


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, list, tuple, dict)) or value is None


def _check_binop(operator: str, left: Any, right: Any) -> None:
    sized = (str, bytes, list, tuple)
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(times, int) and len(seq) * max(times, 0) > TEMPLATE_OUTPUT:
                raise _OverBudget(f"a value over {TEMPLATE_OUTPUT} characters ({len(seq)} * {times})")
    elif operator == "**":
        if isinstance(left, (int, float)) and isinstance(right, (int, float)) and abs(left) > 1 and right > 64:
            raise _OverBudget(f"a number too large to show ({left} ** {right})")
    elif operator == "%" and isinstance(left, str):
        widths = [int(w) for w in re.findall(r"%[-+ #0]*(\d+)", left) + re.findall(r"\.(\d+)", left)]
        if widths and max(widths) > TEMPLATE_OUTPUT:
            raise _OverBudget(f"a format width over {TEMPLATE_OUTPUT}")


def _refuse_loading(env: Any, template: str) -> None:
    """include/import/extends name other templates; there are none, and Jinja2 would fail with a TypeError."""
    from jinja2 import nodes

    for tag in _REFUSED_TAGS:
        for node in env.parse(template).find_all(getattr(nodes, tag)):
            word = {"FromImport": "from ... import", "Extends": "extends"}.get(tag, tag.lower())
            raise _OverBudget(f"{{% {word} %}} is not available: the template is the whole message", node.lineno)


def _bounded_render(template: Any, variables: Mapping[str, Any]) -> str:
    """Render with a deadline and an output cap. The deadline is kept by a trace function: nested loops that
    print nothing would never reach a check between output chunks."""
    import sys
    import time

    deadline = time.monotonic() + TEMPLATE_SECONDS
    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += 1
        if count % 512 == 0 and time.monotonic() > deadline:
            raise _OverBudget(f"it takes longer than {TEMPLATE_SECONDS:g}s to render (a loop too large?)",
                              _frame_line(frame))
        return tracer

    size = 0
    chunks = []
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > TEMPLATE_OUTPUT:
                raise _OverBudget(f"its output is over {TEMPLATE_OUTPUT} characters")
            chunks.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(chunks)


def _frame_line(frame: Any) -> int:
    """The template line a frame of compiled template code is at (Jinja2 maps it in the debug info), else 0."""
    while frame is not None:
        info = frame.f_globals.get("__jinja_template__")
        if info is not None:
            try:
                return int(info.get_corresponding_lineno(frame.f_lineno))
            except Exception:  # noqa: BLE001 - a courtesy
                return 0
        frame = frame.f_back
    return 0


def _template_line(exc: Exception) -> int:
    """The template line of a render error, from the traceback Jinja2 rewrites to point into the template."""
    tb = exc.__traceback__
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        raise RollgenError(f"{CONFIG_FILE}: commit.template produced an empty message; its first line is the subject")
    # A template must not forge trailers: they are rollgen's record, appended after the text.
    lines = [line for line in lines if not _TRAILER_LINE.match(line)]
    body = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", body)


def parse_trailers(message: str) -> dict[str, str]:
    """The Rollgen-* trailers of a commit message (the last occurrence of a key wins).

    Only the message's last paragraph is the trailer block (as for `git interpret-trailers`), and a trailer
    starts at the beginning of a line: a line of the subject or body, whatever a template or a file name put
    there, indented or not, is never read as one. Lines are split at "\n" only, as git splits them."""
    block = _LAST_PARAGRAPH.split(message.strip("\n"))[-1]
    out: dict[str, str] = {}
    for line in block.split("\n"):
        match = _TRAILER_LINE.match(line)
        if match:
            out[match[1]] = match[2].strip()
    return out


_LAST_PARAGRAPH = re.compile(r"\n[ \t]*\n")
