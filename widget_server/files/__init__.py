"""Uploaded files (avatars now, attachments later), kept in the database for every process."""
