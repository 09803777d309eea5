"""Apache Airflow provider: build container images with Kaniko in non-privileged Kubernetes pods."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "airflow-provider-kaniko"

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"


def get_provider_info() -> dict:
    """What ``airflow providers list`` and the provider manager read about this package."""
    return {
        "package-name": DISTRIBUTION,
        "name": "Kaniko",
        "description": "Build container images with Kaniko in isolated, non-privileged Kubernetes pods.",
        "versions": [__version__],
        "operators": [
            {
                "integration-name": "Kaniko",
                "python-modules": [
                    "airflow_kaniko.operators.kaniko",
                    "airflow_kaniko.operators.multi_build",
                    "airflow_kaniko.operators.image_index",
                ],
            }
        ],
        "triggers": [{"integration-name": "Kaniko", "python-modules": ["airflow_kaniko.triggers.pod"]}],
        "extra-links": ["airflow_kaniko.links.KanikoImageLink"],
        # Pushed images are Assets oci://<registry>/<repository> (airflow_kaniko.assets); the handler
        # normalizes such URIs wherever Airflow builds an Asset, and refuses a tag, a digest or credentials.
        "asset-uris": [{"schemes": ["oci"], "handler": "airflow_kaniko.assets.convention.sanitize_uri"}],
    }
