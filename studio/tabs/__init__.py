"""One module per tab; each has ``build()`` that creates its components and wires its events."""
