"""The MLOps maturity bot: app factory, config, database, domain, services and worker."""
