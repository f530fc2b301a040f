"""Categories and tags are created a few at a time, and a failure stops new ones and says what was made."""

import threading
import time

from medusa_sync.hooks._http import create_concurrently


def test_every_key_is_created_once_and_several_run_at_once():
    running, peak, lock = [0], [0], threading.Lock()

    def create(key):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return {"id": f"id-{key}"}

    made, error = create_concurrently(create, [f"k{n}" for n in range(12)], workers=4)
    assert error is None
    assert made == {f"k{n}": {"id": f"id-k{n}"} for n in range(12)}
    assert peak[0] == 4


def test_a_failure_stops_new_creates_and_returns_what_was_made_for_the_rollback():
    started = []

    def create(key):
        started.append(key)
        if key == "k3":
            raise RuntimeError("Medusa said no")
        time.sleep(0.02)
        return {"id": key}

    made, error = create_concurrently(create, [f"k{n}" for n in range(40)], workers=2)
    assert isinstance(error, RuntimeError) and str(error) == "Medusa said no"
    assert "k3" not in made
    assert set(made) == set(started) - {"k3"}  # everything that ran and succeeded can be rolled back
    assert len(started) < 40  # nothing new started after the failure


def test_nothing_to_create_makes_no_thread():
    assert create_concurrently(lambda key: {}, []) == ({}, None)
