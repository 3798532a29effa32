"""Release specs, as the rest of rollgen asks for them: every problem of a document (schema, then meaning), the
model built from it, the specs under a folder.

The work is done below: spec/schema.py (the schema's messages), spec/checks.py and the rule modules it runs
(meaning), spec/build.py (the model), spec/profiles.py. The patch-target rule needs to know what the overlays
would hold, which only the render layer can say: generator.render.loading passes that in (`generated`), and is
what commands use to load a spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from generator.errors import InvalidInput, Problem
from generator.spec import checks
from generator.spec.findings import Generated, Located
from generator.spec.schema import (
    PROFILE_SCHEMA as PROFILE_SCHEMA,
    RELEASE_SCHEMA as RELEASE_SCHEMA,
    explain_additional as explain_additional,
    inline_refs as inline_refs,
    load_schema as load_schema,
    quick_check as quick_check,
    schema_problems,
    validator as validator,
)

if TYPE_CHECKING:
    from generator.model import Release
    from generator.spec.profiles import Profile

def check_schema_and_meaning(
    doc: Located, profiles: Mapping[str, Profile] | None = None, generated: Generated | None = None
) -> list[Problem]:
    """Schema problems; only when there are none, the meaning checks (they rely on the schema's guarantees)."""
    problems = schema_problems(doc)
    if problems:
        return problems
    if profiles is None:
        from generator.spec.profiles import load_profiles

        profiles = load_profiles()
    return checks.check(doc.data, doc, profiles, generated)


def build_release(doc: Located, profiles: Mapping[str, Profile] | None = None) -> Release:
    """The frozen model of a document that check_schema_and_meaning accepted (the built-in profiles unless
    given). The model is imported here, not above: `rollgen validate` builds none (tests/spec/test_schemacheck.py)."""
    from generator.spec import build

    if profiles is None:
        from generator.spec.profiles import load_profiles

        profiles = load_profiles()
    return build.build_model(doc, profiles)


# --- loading ----------------------------------------------------------------------------------------------------


def find_specs_or_raise(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders searched for release specs (generator.spec.discovery does the search)."""
    from generator.spec.discovery import find_specs as discover

    found, problems = discover(list(paths))
    if problems:
        raise InvalidInput(problems)
    return found


def specs_under(folder: Path) -> list[Path]:
    """The release specs under `folder`; none is not an error here."""
    from generator.spec.discovery import find_specs as discover

    return discover([folder])[0]
