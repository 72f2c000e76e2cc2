"""sessrec: session-based next-item recommendation with item IDs and item text.

    import sessrec as sr
    ds = sr.datasets.load("online_retail")
    train, valid, test = ds.split("time", valid=0.1, test=0.1)
    model = sr.models.ItemCF().fit(train)
    print(sr.evaluate(model, test, k=(10, 20)))
"""

from . import _core, datasets, models, text
from .dataset import Dataset, SessionSet
from .evaluation import compare, evaluate
from .models import load
from .plots import plot_alterrec_curves, plot_long_tail

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Threads used by the C++ core (OpenMP). Results do not depend on it."""
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    return _core.get_num_threads()


__all__ = [
    "datasets",
    "models",
    "text",
    "Dataset",
    "SessionSet",
    "evaluate",
    "compare",
    "load",
    "plot_long_tail",
    "plot_alterrec_curves",
    "set_num_threads",
    "get_num_threads",
]
