"""The image manifest: YAML in, one ``KanikoBuildOperator`` kwargs dict per image out (see ``loader``)."""

from airflow_kaniko.manifest.loader import LoadedManifest, ManifestError, load_manifest, read_max_parallel, throttle_warning

__all__ = ["LoadedManifest", "ManifestError", "load_manifest", "read_max_parallel", "throttle_warning"]
