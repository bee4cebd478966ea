"""The internal HTTP API (api.md): staff act on orders; every action is a workflow Update."""
