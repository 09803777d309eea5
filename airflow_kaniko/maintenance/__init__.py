"""Change-aware maintenance: which images to rebuild, in which order, and why.

Pure modules (no Airflow, no Kubernetes): ``dockerfile`` (the base images a build
uses), ``fingerprint`` (what a build's output depends on), ``graph`` (images built
on other images of the same manifest), ``reasons`` and ``decisions`` (the decision per
image). ``planner`` runs them against a registry through the registry protocol of ``airflow_kaniko.oci.registry_protocol``.
"""
