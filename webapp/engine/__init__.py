"""Pure domain logic: no Flask, no database session. Plain values in, decisions out."""
