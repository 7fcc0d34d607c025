"""The counter: the tracking script, hit ingestion, visits with their sources, events, reports."""
