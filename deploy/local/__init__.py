"""Running the whole platform on one machine (`make run`) and in tests."""
