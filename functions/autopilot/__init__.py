"""The model autopilot: run the Custom Labels model only while images wait (docs/autopilot.md)."""
