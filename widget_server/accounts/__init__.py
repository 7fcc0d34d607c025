"""Users, sites, memberships and roles, console sessions, secret API keys."""
