"""Disaster recovery: change capture, the encrypted off-site backup store, snapshots, restore."""
