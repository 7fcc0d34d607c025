"""Uploaded files (avatars now; attachments later), kept in the database so every process sees them."""
