"""The operator / admin web console: server-rendered Jinja2 pages with a little JS."""
