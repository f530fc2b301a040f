# Airflow image with the sync package installed, so the `medusa` connection type is registered.
FROM apache/airflow:3.3.2
COPY --chown=airflow:root requirements.txt constraints.txt /opt/medusa-sync/
RUN pip install --no-cache-dir -r /opt/medusa-sync/requirements.txt -c /opt/medusa-sync/constraints.txt
COPY --chown=airflow:root plugins /opt/medusa-sync/plugins
RUN pip install --no-cache-dir --no-deps /opt/medusa-sync/plugins
