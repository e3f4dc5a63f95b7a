"""Plumbing under the services: the transaction boundary and the journal."""
