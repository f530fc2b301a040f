"""Airflow's public REST API (``/api/v2``), driven the way a user drives it from the UI.

Stands on its own: given the api-server's URL and a user, it logs in (the simple auth manager's
``POST /auth/token``), triggers, waits, clears and reads runs, task instances, XComs and logs. The
clusters of ``tests.stack.airflow_cluster`` hand one out as ``cluster.api``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests

from tests.stack.airflow_local import DAG_ID

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
PAGE = 100  # the API's default maximum page size


class AirflowApiError(RuntimeError):
    """The API answered with a status the caller did not expect."""


class AirflowApi:
    """The public REST API (``/api/v2``) as the UI uses it, logged in as the admin user."""

    def __init__(self, base_url: str, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = {"username": username, "password": password}
        self._session = requests.Session()
        self._token: str | None = None

    def login(self) -> None:
        """``POST /auth/token`` of the simple auth manager gives a bearer JWT."""
        response = self._session.post(f"{self.base_url}/auth/token", json=self._credentials, timeout=30)
        response.raise_for_status()
        self._token = response.json()["access_token"]

    def request(self, method: str, path: str, *, expect: Iterable[int] = (200,), **kwargs: Any) -> Any:
        """One call; logs in (again) on 401 and fails loudly on any unexpected status."""
        kwargs.setdefault("timeout", 60)
        for attempt in range(2):
            if self._token is None:
                self.login()
            headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
            response = self._session.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 0:
                self._token = None
                kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
                continue
            break
        if response.status_code not in tuple(expect):
            raise AirflowApiError(f"{method} {path} answered {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def set_pool(self, name: str, slots: int, description: str = "") -> dict[str, Any]:
        """Create the pool, or set its slots if it exists (as ``airflow pools set`` does)."""
        body = {"name": name, "slots": slots, "description": description}
        created = self.request("POST", "/api/v2/pools", json=body, expect=(200, 201, 409))
        if created and created.get("name") == name:
            return created
        # The PATCH body is the whole pool, named ``pool`` there (``name`` in the POST body).
        update = {"pool": name, "slots": slots, "description": description, "include_deferred": False}
        return self.request("PATCH", f"/api/v2/pools/{name}", json=update)

    def set_variable(self, key: str, value: str) -> None:
        """Create or overwrite a Variable (as ``airflow variables set`` does)."""
        body = {"key": key, "value": value}
        created = self.request("POST", "/api/v2/variables", json=body, expect=(200, 201, 409))
        if not (created and created.get("key") == key):
            self.request("PATCH", f"/api/v2/variables/{key}", json=body)

    def health(self) -> dict[str, Any]:
        response = self._session.get(f"{self.base_url}/api/v2/monitor/health", timeout=10)
        response.raise_for_status()
        return response.json()

    def dag(self, dag_id: str = DAG_ID) -> dict[str, Any] | None:
        """The DAG as the dag-processor registered it, or None before it is parsed."""
        return self.request("GET", f"/api/v2/dags/{dag_id}", expect=(200, 404)) or None

    def import_errors(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v2/importErrors")["import_errors"]

    def unpause(self, dag_id: str = DAG_ID) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self, dag_id: str = DAG_ID, conf: dict[str, Any] | None = None, run_id: str | None = None
    ) -> str:
        """A manual run (no logical date, like the Trigger button); returns its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.dag_run(dag_id, run_id)["state"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of a run, one per map index for mapped tasks (``rendered_map_index``
        is the label), ordered by task id and map index."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.request(
                "GET",
                f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": PAGE, "offset": len(found), "order_by": "id"},
            )
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return sorted(found, key=lambda t: (t["task_id"], t["map_index"]))

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        suffix = f"/{map_index}" if map_index >= 0 else ""
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}{suffix}")

    def clear_failed(
        self,
        dag_id: str,
        run_id: str,
        task_ids: list[str | tuple[str, int]] | None = None,
        include_downstream: bool = True,
        only_failed: bool = True,
    ) -> list[dict[str, Any]]:
        """Clear the run's failed instances (of ``task_ids``: a task id, or ``(task_id, map_index)``),
        as the UI's Clear with "Only failed" and "Downstream"; returns the cleared instances.
        ``only_failed=False`` clears them whatever their state, as a rerun from a task does."""
        body: dict[str, Any] = {
            "dry_run": False,
            "only_failed": only_failed,
            "dag_run_id": run_id,
            "include_downstream": include_downstream,
        }
        if task_ids:
            body["task_ids"] = [list(t) if isinstance(t, tuple) else t for t in task_ids]
        return self.request("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", json=body)["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The whole log of one attempt as text, one line per structured log record."""
        content = self.request(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"map_index": map_index, "full_content": "true"},
            headers={"Accept": "application/json"},
        )["content"]
        lines = []
        for record in content:
            if isinstance(record, dict):
                extra = " ".join(
                    f"{k}={v}" for k, v in record.items() if k not in ("timestamp", "level", "event")
                )
                event = record.get("event", "")
                lines.append(f"{record.get('timestamp', '')} [{record.get('level', '')}] {event} {extra}")
            else:
                lines.append(str(record))
        return "\n".join(line.rstrip() for line in lines)


# --- the cluster --------------------------------------------------------------------------------
