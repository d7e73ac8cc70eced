"""confsched's shipped Hydra config tree (a package, so ``pkg://confsched.conf`` finds it in a wheel)."""
