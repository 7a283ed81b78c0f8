"""The twin's defaults that the CLI shows and passes on, readable without importing moto."""

DEFAULT_START_DELAY_SECONDS = 3.0  # a model version's STARTING → RUNNING here (AWS: 10-30 minutes)
# How long one minute of the model autopilot lasts in `local up` and the demo (time compression:
# its schedule, the idle countdown and the model's meter run 12 times faster; printed, never silent)
DEFAULT_MINUTE_SECONDS = 5.0
