"""Internals, with no stability promise: leaves that import nothing of the project but
``provenance.errors`` (file reading and writing, text escaping, lazy public names, the
allocator setting). Every package may import them; they export nothing public.
"""

__all__: list[str] = []
