"""钉钉 (DingTalk), messenger-specific: receiving through the Stream SDK, sending through the
OpenAPI. Nothing here knows the bot, the handlers or the plan."""
