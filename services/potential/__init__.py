"""Village potential: businesses (UMKM), organisations, tourism, resources, profile, catalogue."""
