"""The ``provenance`` command line: parse, call the library, render, exit."""
