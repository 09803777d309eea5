"""Operator extra links. ``KanikoImageLink`` stays importable here: serialized DAGs name this path."""

from airflow_kaniko.links.image import KanikoImageLink

__all__ = ["KanikoImageLink"]
