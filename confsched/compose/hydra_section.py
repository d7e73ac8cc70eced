"""What a config file may set under ``hydra:``.

Hydra instantiates the ``_target_`` of its launcher, sweeper and callbacks, and hands
``job_logging`` / ``hydra_logging`` to ``logging.config.dictConfig``. This module is the one place
that decides what a file may put there; the command line stays the user's own.
"""

from __future__ import annotations

from typing import Any

from confsched.errors import ConfigError

__all__ = ["HYDRA_TARGETS", "LOGGING_CLASSES", "refuse_hydra_code"]

HYDRA_TARGETS = (
    "hydra._internal.core_plugins.",
    "hydra_plugins.",
    "confsched.app.SweepCallback",
    "confsched.integrations.sweep.JobRecorder",
)
"""What a ``_target_`` in the ``hydra`` section may name: Hydra's own launchers and sweepers, an
installed Hydra plugin (confsched's Optuna sweeper is one), confsched's sweep callback and job
recorder. Everything else is refused."""


LOGGING_CLASSES = ("logging.", "colorlog.")
"""What ``class`` / ``()`` in Hydra's logging settings may name (the stdlib, hydra_colorlog's)."""


def refuse_hydra_code(node: Any, path: str = "hydra") -> None:
    """Refuse ``hydra:`` settings that would make Hydra import or call arbitrary code.

    Hydra instantiates the ``_target_`` of its launcher, sweeper and callbacks, and hands
    ``job_logging`` / ``hydra_logging`` to ``logging.config.dictConfig``, whose ``()`` key calls a
    factory and whose ``class`` key imports one. A config file may only name Hydra's own plugins
    and installed ``hydra_plugins`` there, and only ``logging.*`` (or ``colorlog.*``) classes.
    """
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key == "_target_" and not str(value).startswith(HYDRA_TARGETS):
                raise ConfigError(
                    where,
                    f"{value!r} is refused: a config is data; in the hydra section it may only name "
                    "Hydra's own launchers and sweepers or an installed hydra_plugins package",
                )
            if key in ("()", "class") and not str(value).startswith(LOGGING_CLASSES):
                raise ConfigError(
                    where,
                    f"{value!r} is refused: logging settings may only name "
                    f"{' or '.join(p + '*' for p in LOGGING_CLASSES)} classes",
                )
            refuse_hydra_code(value, where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            refuse_hydra_code(item, f"{path}[{i}]")
