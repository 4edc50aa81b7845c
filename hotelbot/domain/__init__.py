"""Pure domain: types and decisions. Imports no httpx, sqlalchemy, openai or loguru."""
