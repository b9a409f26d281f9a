"""Test support: the real infrastructure each test run builds for itself and tears down."""
