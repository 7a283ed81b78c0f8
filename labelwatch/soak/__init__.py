"""`make soak`: every kind of input under faults through the embedded stack, then the invariants."""
