"""What Kaniko needs to know, with neither Airflow nor Kubernetes imported."""
