"""The system's configuration: one `Settings` for every process (`OMS_*` variables), and
the payload encryption keys. Imported by the API, the workers and the CLI alike; it
imports none of them."""
