"""Sync a DummyJSON-style product catalog into a Medusa v2 store with Airflow."""

__version__ = "0.1.0"
