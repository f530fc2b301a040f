"""The base of the tasks that work in a run folder ``fetch_pages`` wrote, against one Medusa store.

It is no task of its own: the task modules build on it and still never import one another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from medusa_sync.hooks.medusa import MedusaHook


class RunFolderOperator(BaseOperator):
    """Holds where a run's files are and which store the task writes to.

    The folder comes from the fetch's ``run_folder`` XCom, rendered when the task runs, so a
    cleared task works in the folder of its own run, never in a newer run's.

    :param run_folder: the run folder the fetch wrote (its ``run_folder`` XCom). Templated.
    :param medusa_conn_id: connection of the Medusa store.
    """

    template_fields: Sequence[str] = ("run_folder",)

    def __init__(
        self,
        *,
        run_folder: str | None,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_folder = run_folder
        self.medusa_conn_id = medusa_conn_id
