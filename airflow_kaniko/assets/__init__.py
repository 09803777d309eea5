"""Airflow Assets of pushed images: ``image_asset()`` for a consumer's schedule, the events a build emits."""

from airflow_kaniko.assets.events import emit_image_events, image_asset

__all__ = ["emit_image_events", "image_asset"]
