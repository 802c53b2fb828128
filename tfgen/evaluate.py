"""Deprecated: `tfgen evaluate`'s report is `tfgen.report` (this module's old name sat beside `tfgen.evaluation`,
the estimators it uses). Kept for one version; importing it warns."""

import warnings

from tfgen.report import *  # noqa: F401,F403

warnings.warn("tfgen.evaluate is deprecated: import tfgen.report (the same functions).", DeprecationWarning,
              stacklevel=2)
