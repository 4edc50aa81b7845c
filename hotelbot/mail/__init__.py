"""E-mail adapter: the operators' backup channel (SMTP with aiosmtplib)."""
