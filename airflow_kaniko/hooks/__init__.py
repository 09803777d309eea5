"""Everything that reads an Airflow Connection: the registry, a git context's login, the Airflow API."""

from airflow_kaniko.hooks.git import GitHook
from airflow_kaniko.hooks.registry import RegistryHook

__all__ = ["GitHook", "RegistryHook"]
