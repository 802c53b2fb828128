"""Deprecated: `error_rate` lives in `tfgen.evaluation.semi_supervised` (also `tfgen.evaluation.error_rate`).

Renamed because "classification" beside `tfgen.evaluation.classifier` (the
sample-scoring CNN) did not say which was which. This alias goes in the
next version.
"""

import warnings

from tfgen.evaluation.semi_supervised import error_rate

warnings.warn("tfgen.evaluation.classification is deprecated: import error_rate from tfgen.evaluation "
              "(or tfgen.evaluation.semi_supervised).", DeprecationWarning, stacklevel=2)

__all__ = ["error_rate"]
