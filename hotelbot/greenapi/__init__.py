"""Green API (WhatsApp) adapter: HTTP client, error classes, wire parsing."""
