"""Application modules of the potential service, one per aggregate: load, decide, save, emit."""
