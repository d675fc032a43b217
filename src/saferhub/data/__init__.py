"""Find (inputs): ingest police.uk CSVs, the police.uk API and partner incidents; validate,
quarantine, and keep them in the event store. `events()` is the one read function everyone uses."""

from saferhub.data.store import events, outcomes, stop_searches

__all__ = ["events", "outcomes", "stop_searches"]
