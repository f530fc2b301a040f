"""The run report in the Airflow UI: a FastAPI app the api-server mounts, and the link to it."""
