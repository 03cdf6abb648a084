"""Supervision that follows the class: spot-check plans, tasks, observation periods, reminders.

Pure decisions live here (drawing a plan, task transitions, observation rules, reminder texts,
the discovery rate); ``supervision/store`` keeps their state in Redis, and the worker
(``streams/``), the API (``api/``) and the CLI (``cli/``) do their I/O.
"""

from supervision.config import SupervisionConfig, load
from supervision.exceptions import ConfigError, SupervisionError
from supervision.ids import plan_task_id
from supervision.step import Effects, Input, Loaded, Wants, step, wants
from supervision.tasks import can

__all__ = [
    "ConfigError",
    "Effects",
    "Input",
    "Loaded",
    "SupervisionConfig",
    "SupervisionError",
    "Wants",
    "can",
    "load",
    "plan_task_id",
    "step",
    "wants",
]
