"""Summary facts: what a policy's rules test, computed from a submission under that policy's parameters.

``specs`` reads what a policy asks to be derived; ``judging`` judges trials and courses and selects
scores; ``registry`` declares every fact once (field, words, evidence); ``summary`` builds what
durable-rules sees and the words of the explanation; ``words`` and ``truth`` are their vocabulary.
"""

from .judging import Counted
from .registry import Context, Registry, registry
from .specs import CountSpec, FactSpec, ScaleSpec
from .summary import Summary, summarise
from .truth import Truth
from .words import fmt, word

__all__ = ["Context", "CountSpec", "Counted", "FactSpec", "Registry", "ScaleSpec", "Summary", "Truth", "fmt",
           "registry", "summarise", "word"]
