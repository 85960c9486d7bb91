"""A local stand-in for the Slack Web API, with a page to click approval cards as Slack would."""
