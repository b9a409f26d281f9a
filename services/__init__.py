"""Desa Digital services: one nameko service per bounded context, plus the shared kernel."""
