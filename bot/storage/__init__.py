"""Storage: the SQLAlchemy models, case statuses, migrations check, and the retention purge."""
