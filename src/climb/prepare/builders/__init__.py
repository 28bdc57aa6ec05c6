"""Dataset builders; each module registers its builders with `register_builder`."""
