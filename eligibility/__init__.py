"""TMS eligibility: policies as data, evaluated on durable-rules, with every verdict explained.

Typical use::

    from eligibility import load_library
    library = load_library()
    evaluation = library.evaluate(library.load(document))
"""

from .errors import EligibilityError, EngineError, InvalidPolicy, InvalidSubmission, UnknownPolicy
from .library import Library, load_library
from .model import Determination, Kind, Status, Submission
from .results import Evaluation, PolicyResult

__version__ = "0.1.0"

__all__ = [
    "Determination", "EligibilityError", "EngineError", "Evaluation", "InvalidPolicy", "InvalidSubmission", "Kind",
    "Library", "PolicyResult", "Status", "Submission", "UnknownPolicy", "load_library", "__version__",
]
