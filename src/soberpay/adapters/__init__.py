"""Adapters: everything that touches a framework, database, model runtime, file or device."""
