"""Hooks for the two HTTP APIs the sync talks to: the product catalog and Medusa's Admin API."""
