"""The host name a worker records on its task instances: ``[core] hostname_callable``.

Two Celery workers on one machine would both record the machine's name, so the REST API could not
tell which one ran an instance. Each test worker gets ``MEDUSA_SYNC_WORKER_NAME`` in its
environment; anywhere else this is ``socket.getfqdn()``, Airflow's own default.
"""

from __future__ import annotations

import os
import socket

WORKER_NAME_VARIABLE = "MEDUSA_SYNC_WORKER_NAME"


def hostname() -> str:
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()
