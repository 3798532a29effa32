"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched (a Content Security
Policy of `default-src 'none'` says so to the browser too). Pure: a Report in, text out.

Everything a chart shows is also text: each SVG has a title and a description saying in words what it draws, and
the table under it lists every action. Every value from git or a spec is escaped (html.escape) where it is
inserted; ids are built from names too, escaped the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from html import escape as _escape

from generator.report import WAITING, Action, EnvView, Report, in_flight_views

CSS = """
:root{color-scheme:light;--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--band:#f6f8fa;--canary:#0969da;
--bad:#cf222e;--good:#1a7f37}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg);
margin:0 auto;max-width:1100px;padding:0 16px 48px}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:20px 0 6px}
p.meta,.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}
caption{text-align:left;color:var(--muted);padding:2px 0}
th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
th{background:var(--band);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}td:first-child,td.num{white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
dl.now{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:4px 0}
dl.now dt{color:var(--muted)}dl.now dd{margin:0}
.abort,.rollback,.check{color:var(--bad)}.promote{color:var(--good)}
svg{display:block;max-width:100%;height:auto}
svg .grid{stroke:var(--line);stroke-width:1}svg .axis{fill:var(--muted);font-size:11px}
svg .weight{fill:none;stroke:var(--canary);stroke-width:2}
svg .dot{fill:var(--canary)}svg .dot.abort,svg .dot.rollback,svg .dot.check{fill:var(--bad)}
svg .dot.promote{fill:var(--good)}
nav ul{columns:4 160px;padding-left:18px;margin:4px 0}
"""

@lru_cache(maxsize=65536)
def escape(text: str) -> str:
    """html.escape, remembered: names, images, authors and actions repeat on thousands of rows."""
    return _escape(text)


CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
WIDTH, HEIGHT = 640, 130
LEFT, RIGHT, TOP, BOTTOM = 44, 628, 10, 100  # the plot area inside the SVG
DESCRIBED = 30  # actions named one by one in a chart's description; the table lists them all


def html_page(report: Report) -> str:
    releases = report.releases()
    views = report.environments
    count = sum(len(v.actions) for v in views)
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>rollgen report: {escape(report.title)}</title><style>{CSS}</style></head><body>",
        '<header><h1>rollgen report</h1>',
        f'<p class="meta">Repository {escape(report.title)} at commit <code>{escape(report.head[:12])}</code>, '
        f"generated {escape(report.generated)}. {_count(len(releases), 'release')}, {_count(len(views), 'environment')}, "
        f"{count} actions.</p></header>",
        _contents(releases),
        _grid(),
        "<main>",
        '<p class="muted">Each chart is a step line of the newest version\'s traffic share over time: a deploy or '
        "a full promotion is 100%, a canary step its weight, an abort 0%. Each dot is an action; red ones failed "
        "(a failed gate, an abort, a rollback), green ones promoted. The table under a chart lists every action.</p>",
        _now(in_flight_views(views)),
    ]
    for name, envs in releases:
        parts.append(_release(name, envs, report.generated))
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _id(*names: str) -> str:
    return escape("-".join(names))  # quotes are escaped too (html.escape's default)


def _contents(releases: Sequence[tuple[str, list[EnvView]]]) -> str:
    items = "".join(f'<li><a href="#r-{_id(name)}">{escape(name)}</a></li>' for name, _ in releases)
    return f'<nav aria-labelledby="contents"><h2 id="contents">Releases</h2><ul>{items}</ul></nav>'


def _now(views: Sequence[EnvView]) -> str:
    head = '<section aria-labelledby="now"><h2 id="now">In flight or waiting now</h2>'
    if not views:
        return head + "<p>Nothing is in flight or waiting: every environment is at rest.</p></section>"
    rows = "".join(
        f'<tr><td><a href="#e-{_id(v.release, v.environment)}">{escape(v.release)} / {escape(v.environment)}</a>'
        f"</td><td>{escape(v.now_line)}</td><td>{escape(v.state.since if v.state else '')}</td></tr>"
        for v in views
    )
    count = f"{len(views)} environment{'s' if len(views) != 1 else ''} in flight or waiting"
    return (head + f"<table><caption>{count}</caption><thead><tr>"
            '<th scope="col">Environment</th><th scope="col">Now</th><th scope="col">Since</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></section>")


def _release(name: str, envs: Sequence[EnvView], now: str) -> str:
    body = "".join(_environment(view, now) for view in envs)
    return (f'<section class="release" id="r-{_id(name)}" aria-labelledby="h-{_id(name)}">'
            f'<h2 id="h-{_id(name)}">{escape(name)}</h2>{body}</section>')


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _environment(view: EnvView, now: str) -> str:
    key = _id(view.release, view.environment)
    title = f"{escape(view.release)} / {escape(view.environment)}"
    return (f'<article id="e-{key}" aria-labelledby="h-{key}"><h3 id="h-{key}">{title}</h3>'
            f"{_facts(view)}{_chart(view, key, now)}{_table(view, title)}</article>")


def _facts(view: EnvView) -> str:
    state = view.state
    if state is None and view.waiting:  # not deployed yet: its first version waits for the upstream
        return (f'<dl class="now"><dt>Phase</dt><dd>{WAITING}</dd><dt>Now</dt><dd>{escape(view.now_line)}</dd>'
                "</dl>")
    if state is None:
        what = f"unreadable state file: {view.error}" if view.error else "no state file (retired, or never deployed)"
        return f'<dl class="now"><dt>Phase</dt><dd>{escape(what)}</dd></dl>'
    facts = [("Phase", view.phase), ("Now", view.now_line or "at rest"), ("Stable", state.stable_image.ref)]
    if state.canary_image and state.in_flight:
        facts.append(("Canary", state.canary_image.ref))
    facts.append(("Since", state.since or "-"))
    if state.failures:
        facts.append(("Failed gate checks at this step", f"{state.failures}: {state.last_failure}"))
    items = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)
    return f'<dl class="now">{items}</dl>'


# -- the chart -------------------------------------------------------------------------------------------------


def _points(view: EnvView) -> list[tuple[float, int, Action]]:
    from generator.clock import parse_time

    out = []
    for action in view.actions:
        if action.weight is None:
            continue
        try:
            out.append((parse_time(action.time).timestamp(), action.weight, action))
        except (ValueError, OverflowError):
            continue
    return out


def _chart(view: EnvView, key: str, now: str) -> str:
    points = _points(view)
    if not points:
        return '<p class="muted">No actions with a weight to chart.</p>'
    start, end = points[0][0], _end(points, view, now)
    span = max(end - start, 1.0)

    def x(t: float) -> int:
        return round(LEFT + (RIGHT - LEFT) * (t - start) / span)

    path = [f"M{x(points[0][0])} {_y(points[0][1])}"]
    for t, weight, _ in points[1:]:
        path.append(f"H{x(t)}V{_y(weight)}")
    path.append(f"H{x(end)}")
    dots = "".join(f'<circle class="{_dot(a.action)}" cx="{x(t)}" cy="{_y(w)}" r="3"/>' for t, w, a in points)
    axis = (f'<text class="axis" x="{LEFT}" y="{HEIGHT - 8}">{escape(_short(points[0][2].time))}</text>'
            f'<text class="axis" x="{RIGHT}" y="{HEIGHT - 8}" text-anchor="end">{escape(_short(_iso(end)))}</text>')
    title = f"Weight of the newest version over time, {view.release} / {view.environment}"
    return (f'<svg role="img" aria-labelledby="t-{key}" aria-describedby="d-{key}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}"><title id="t-{key}">{escape(title)}</title><desc id="d-{key}">'
            f'{escape(_description(points))}</desc><use href="#grid"/><path class="weight" d="{"".join(path)}"/>'
            f"{dots}{axis}</svg>")


def _y(weight: int) -> int:
    return round(BOTTOM - (BOTTOM - TOP) * max(0, min(weight, 100)) / 100)


def _dot(action: str) -> str:
    return f"dot {action}" if action in ("abort", "rollback", "check", "promote") else "dot"


def _grid() -> str:
    """The axes every chart shares, drawn once (an SVG symbol each chart <use>s: 4,000 charts would otherwise
    repeat them, a fifth of the page)."""
    lines = "".join(
        f'<line x1="{LEFT}" x2="{RIGHT}" y1="{_y(w)}" y2="{_y(w)}"/>'
        f'<text x="{LEFT - 6}" y="{_y(w) + 4}" text-anchor="end" stroke="none">{w}%</text>' for w in (0, 50, 100)
    )  # styled by attributes: the page's selectors do not reach into a <use>'s copy
    return (f'<svg width="0" height="0" aria-hidden="true" style="position:absolute"><defs><g id="grid" stroke="#d0d7de" fill="#57606a" font-size="11">{lines}'
            "</g></defs></svg>")


def _end(points: list[tuple[float, int, Action]], view: EnvView, now: str) -> float:
    """The chart runs to now while something is in flight, else to the last action."""
    from generator.clock import parse_time

    last = points[-1][0]
    if view.now_line:
        try:
            return max(last, parse_time(now).timestamp())
        except (ValueError, OverflowError):
            return last
    return last


def _description(points: list[tuple[float, int, Action]]) -> str:
    named = [f"{a.time} {a.action} {w}%" for _, w, a in points[:DESCRIBED]]
    more = f"; and {len(points) - DESCRIBED} more (the table lists every action)" if len(points) > DESCRIBED else ""
    return f"{len(points)} actions: " + "; ".join(named) + more + "."


def _iso(seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(time: str) -> str:
    return time.replace("T", " ").removesuffix("Z") + " UTC" if time.endswith("Z") else time


# -- the table of actions --------------------------------------------------------------------------------------

HEADERS = ("Time", "Action", "Step", "Weight", "Image", "Actor", "Commit", "Gates", "Summary")


def _table(view: EnvView, title: str) -> str:
    if not view.actions:
        return '<p class="muted">No rollgen commits for this environment.</p>'
    head = "".join(f'<th scope="col">{h}</th>' for h in HEADERS)
    rows = "".join(_row(action) for action in view.actions)
    return (f"<table><caption>Actions of {title} ({len(view.actions)})</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _row(a: Action) -> str:
    weight = "-" if a.weight is None else f"{a.weight}%"
    return (f"<tr><td>{escape(a.time)}</td><td class=\"{escape(a.action)}\">{escape(a.action)}</td>"
            f'<td class="num">{escape(a.step)}</td><td class="num">{weight}</td><td>{escape(a.image)}</td>'
            f"<td>{escape(a.author)}</td><td><code>{escape(a.commit[:12])}</code></td>"
            f"<td>{_gates(a.gate)}</td><td>{escape(_summary(a.subject))}</td></tr>")


def _summary(subject: str) -> str:
    """The commit subject without its `release/env: ` prefix (the heading already says it)."""
    head, sep, rest = subject.partition(": ")
    return rest if sep and "/" in head and " " not in head else subject


def _gates(gate: str) -> str:
    if not gate:
        return "-"
    from generator.notify.events import parse_gates

    return "<br>".join(
        escape(f"{g.metric}: {g.value} {g.comparison} {g.bound} (failed)" if g.comparison else g.metric)
        for g in parse_gates(gate)
    )
