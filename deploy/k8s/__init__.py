"""Kubernetes manifests; render.py writes every service's from one template."""
