"""Chat platform adapters: thin layers over the core."""
