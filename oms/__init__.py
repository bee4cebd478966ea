"""The `oms` command and the settings every process shares."""
