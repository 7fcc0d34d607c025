"""The multiwidget: the code a site owner pastes into their pages, and per-site widget settings
(chat on/off, texts per language, colour, working hours), reply templates, and the
leave-a-message form used outside working hours."""
