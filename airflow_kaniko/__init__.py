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
    from airflow_kaniko import config  # the [kaniko] section; imports nothing but the standard library

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
        "hooks": [{"integration-name": "Kaniko", "python-modules": ["airflow_kaniko.hooks.registry"]}],
        "connection-types": [_REGISTRY_CONNECTION_TYPE],
        "config": config.SECTION,
        "triggers": [{"integration-name": "Kaniko", "python-modules": ["airflow_kaniko.triggers.pod"]}],
        "extra-links": ["airflow_kaniko.links.KanikoImageLink"],
        # Pushed images are Assets oci://<registry>/<repository> (airflow_kaniko.assets); the handler
        # normalizes such URIs wherever Airflow builds an Asset, and refuses a tag, a digest or credentials;
        # the factory makes one from an image reference (hook lineage); the converter gives OpenLineage the
        # dataset the operators report for that repository (airflow_kaniko.openlineage).
        "asset-uris": [
            {
                "schemes": ["oci"],
                "handler": "airflow_kaniko.assets.convention.sanitize_uri",
                "factory": "airflow_kaniko.assets.events.create_asset",
                "to_openlineage_converter": "airflow_kaniko.openlineage.lineage.convert_asset_to_openlineage",
            }
        ],
    }


# The registry connection's form, declared here (as cncf-kubernetes does) so the UI reads it without importing
# the hook. Conn type ``docker`` connections keep working for builds; this is the type the form offers.
_REGISTRY_CONNECTION_TYPE = {
    "hook-class-name": "airflow_kaniko.hooks.registry.RegistryHook",
    "hook-name": "OCI registry (Kaniko)",
    "connection-type": "oci_registry",
    "conn-fields": {
        "ca_file": {
            "label": "CA bundle path",
            "description": "A PEM file on the worker with the CA that signed this registry's TLS certificate.",
            "schema": {"type": ["string", "null"]},
        },
        "image_url_template": {
            "label": "Image URL template",
            "description": "The registry UI's page of a pushed image, for the task's Image link; placeholders"
            " {registry}, {repository}, {namespace}, {name}, {tag}, {digest}.",
            "schema": {"type": ["string", "null"]},
        },
    },
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "extra"],
        "relabeling": {"host": "Registry host", "login": "Username", "password": "Password or token"},
        "placeholders": {
            "host": "registry.example.com (or https://registry.example.com)",
            "port": "443 (empty: part of the host, or the HTTPS default)",
            "login": "robot-builder",
            "password": "the registry password or access token",
            "ca_file": "/etc/ssl/certs/registry-ca.pem",
            "image_url_template": "https://{registry}/harbor/projects/{namespace}/repositories/{name}/artifacts-tab/artifacts/{digest}",
        },
    },
}
