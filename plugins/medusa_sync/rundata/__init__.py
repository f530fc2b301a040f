"""Run data: the run folder in object storage and what tasks read from it."""
