"""One drill builder per service: `build(world, village, round_)` adds that service's data."""
