"""The order: its details as handed over (`details`), and the pure aggregate that applies
the policy to it (`aggregate.Order`, with its state, decisions and rules)."""
