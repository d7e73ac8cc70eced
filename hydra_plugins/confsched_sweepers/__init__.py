"""confsched's Hydra sweepers (Hydra instantiates a plugin only from the ``hydra_plugins`` package)."""
