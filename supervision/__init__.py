"""Supervision that follows the class: spot-check plans, tasks, observation periods, reminders.

Pure decisions live here (drawing a plan, task transitions, observation rules, reminder texts,
the discovery rate); ``supervision/store`` keeps their state in Redis, and the worker
(``streams/``), the API (``api/``) and the CLI (``cli/``) do their I/O.
"""

from supervision.ids import plan_task_id

__all__ = ["plan_task_id"]
