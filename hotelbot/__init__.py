"""hotelbot: a WhatsApp guest-messaging daemon for hotels."""

__version__ = "0.1.0"
