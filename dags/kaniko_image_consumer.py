"""
Runs when the maintenance DAG pushes a new demo/hello image: a DAG scheduled on the image's Asset.

A pushed image's Asset is its repository, oci://<registry>/<repository> (docs/assets-lineage.md, "Assets"); each
push is one event, whose extra names the image by digest, its tags, and why it was rebuilt. The
registry differs per install, so it comes from KANIKO_IMAGE_REGISTRY (dev/deploy sets it).
"""

from __future__ import annotations

import os

import pendulum

from airflow.sdk import DAG, task
from airflow_kaniko.assets import image_asset

REGISTRY = os.environ.get("KANIKO_IMAGE_REGISTRY", "registry.example.com")
HELLO = image_asset(f"{REGISTRY}/demo/hello")  # Asset("oci://<registry>/demo/hello")

with DAG(
    dag_id="kaniko_image_consumer",
    description="React to a rebuilt demo/hello image (redeploy, smoke-test, rescan)",
    schedule=[HELLO],
    start_date=pendulum.datetime(2026, 1, 5, tz="UTC"),
    catchup=False,
    tags=["kaniko", "assets"],
) as dag:

    @task
    def new_image(triggering_asset_events=None) -> list[dict]:
        """Say which image arrived and why; a real DAG would deploy or test ``extra["image"]`` here."""
        arrived = []
        for event in triggering_asset_events[HELLO]:
            extra = event.extra
            why = (extra.get("reason") or {}).get("kind", "-")
            print(f"New image {extra['image']} (tags {', '.join(extra['tags'])}; reason {why})")
            arrived.append({key: extra.get(key) for key in ("image", "digest", "tags", "fingerprint", "reason")})
        return arrived

    new_image()
