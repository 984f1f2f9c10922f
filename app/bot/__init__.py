"""The Official Account bot: callback security, the replay store, binding, events and commands."""
