"""Sentiment adapters: the LLM analyser, the combined rules+LLM stage, their settings."""
