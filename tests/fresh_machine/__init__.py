"""A newcomer's machine: only Python. ``./dev`` brings its own Node, PostgreSQL and Redis there."""
