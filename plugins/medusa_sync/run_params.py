"""A run's Params as a task reads them: validated once, typed by their declaration (``params``).

Operators read ``context["params"]`` through ``read``, as values, never through a rendered
template. A value the form's schema let through but that cannot be used (a conf sent through the
API, an unknown currency) fails the task at once, naming the param: no retry changes a param.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from airflow.sdk.exceptions import AirflowFailException
from pydantic import ValidationError

from medusa_sync.params import RunParams

Model = TypeVar("Model", bound=RunParams)


class ParamError(AirflowFailException):
    """A run's Param that cannot be used: the message names the param and what it must be. The
    task fails at once: no retry changes a param."""


def read(model: type[Model], params: Mapping[str, Any]) -> Model:
    """The run's params as ``model`` types them; a bad one fails naming it (no retry fixes it)."""
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"])
            if problem["type"] == "missing":
                problems.append(f"param {name!r} is missing from the run's params")
            else:
                problems.append(f"param {name!r} = {problem.get('input')!r}: {problem['msg']}")
        raise ParamError("; ".join(problems)) from None
