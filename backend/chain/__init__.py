"""Chain access for Primsell: configuration, keys, the transaction manager, deployments, mints and custody."""
