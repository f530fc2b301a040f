"""The pure core: models, validation, mapping, planning, batching, stock and the report.

Data in, data out: nothing here imports Airflow, HTTP or object storage. Task-local working
sets too big for memory live in SQLite (``scratch``, ``store_index``).
"""
