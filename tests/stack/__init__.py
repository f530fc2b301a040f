"""The development and test stack: a real Medusa, the catalog server, Airflow, S3, SMTP, the
bench and the soak, started on this machine for ``./dev demo``, ``./dev test`` and ``./dev bench``.

None of it ships: the package users install is ``plugins/`` and ``dags/``.
"""
