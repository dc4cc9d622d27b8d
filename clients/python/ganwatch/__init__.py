"""ganwatch: record a training run (metrics, sample images, latent codes) to a ganwatch server, and apply the controls
sent back from its dashboard. Standard library only; numpy and torch are used when present.

    import ganwatch
    run = ganwatch.init(name="facades", config={"lr_d": 1e-4})
    run.log({"loss/D": 0.69}, step=100)
    run.finish()
"""

from .controls import ControlResult, Rollback
from .errors import GanwatchError, InputError, OptionError, RunNotFoundError, ServerError, SpoolError
from .run import Run, init

__version__ = "0.1.0"

__all__ = [
    "init",
    "Run",
    "ControlResult",
    "Rollback",
    "GanwatchError",
    "InputError",
    "OptionError",
    "RunNotFoundError",
    "ServerError",
    "SpoolError",
    "__version__",
]
