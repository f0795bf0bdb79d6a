"""The application shell: environment, exit statuses, paths, config, terminal, command table."""
