# Airflow image with the sync package installed, so the `medusa` connection type is registered.
FROM apache/airflow:3.3.2
COPY --chown=airflow:root constraints.txt /opt/medusa-sync/
COPY --chown=airflow:root plugins /opt/medusa-sync/plugins
# The install line of docs/install.md, word for word (a unit test keeps them equal): the package
# with its extras, every version from constraints.txt, so the image's Airflow stays 3.3.2.
WORKDIR /opt/medusa-sync
RUN pip install --no-cache-dir "./plugins[s3,celery,statsd]" --constraint constraints.txt
WORKDIR /opt/airflow
