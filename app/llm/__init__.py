"""The LLM reviewer: an OpenAI-compatible client that can only advise."""
