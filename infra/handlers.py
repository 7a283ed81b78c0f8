"""The handler of each of the stack's functions, by name (no CDK import: the twin reads these)."""

DETECT_HANDLER = "detect.handler.lambda_handler"
AUTOPILOT_HANDLER = "autopilot.handler.lambda_handler"
LINKS_HANDLER = "links.handler.lambda_handler"
COOLDOWN_HANDLER = "cooldown.handler.lambda_handler"
DIGEST_HANDLER = "digest.handler.lambda_handler"
