"""What every domain stands on: settings, the database, errors, the clock, logs, tokens, paging."""
