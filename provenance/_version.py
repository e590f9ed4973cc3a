"""The toolkit's version, recorded as the claim generator of every manifest it signs."""

__version__ = "0.1.0"
