"""HTTP gateway: the only HTTP entry to the platform (auth, village scoping, validation, RPC)."""
