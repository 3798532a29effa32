from __future__ import annotations

import gc

# Nothing the imports below allocate is garbage: no collection until the command's modules are in and frozen
# (cli._import_command, which turns the collector back on): ~3 M instructions of a cold `rollgen validate`.
gc.disable()

from generator.cli import main  # after gc.disable()

raise SystemExit(main())
