"""The image manifest: YAML in, one ``KanikoBuildOperator`` kwargs dict per image out (see ``loader``)."""

from airflow_kaniko.manifest.loader import Manifest, ManifestError, load_manifest, read_max_parallel, throttle_warning

__all__ = ["Manifest", "ManifestError", "load_manifest", "read_max_parallel", "throttle_warning"]
