"""Per-site widget configuration and the code a site owner pastes into their pages."""
