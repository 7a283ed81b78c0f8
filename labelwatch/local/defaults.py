"""The twin's defaults that the CLI shows and passes on, readable without importing moto."""

DEFAULT_START_DELAY_SECONDS = 3.0  # a model version's STARTING → RUNNING here (AWS: 10-30 minutes)
