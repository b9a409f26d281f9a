"""Deployment: the local runner behind `make run`, and the production manifests."""
