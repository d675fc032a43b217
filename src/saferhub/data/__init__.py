"""Find (inputs): ingest police.uk CSVs, the police.uk API and partner incidents; validate,
quarantine, and keep them in the event store. `events()` is the one read function everyone uses."""

__all__ = ["events", "outcomes", "stop_searches"]


def __getattr__(name):
    # Imported on first use so `saferhub --help` does not pay for pyarrow.
    if name in __all__:
        from saferhub.data import store

        return getattr(store, name)
    raise AttributeError(name)
