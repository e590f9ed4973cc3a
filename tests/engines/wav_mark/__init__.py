"""A test mark engine on WAV, attached to the audio kind by one attribute (``conftest``).

It proves docs/design.md's recipe: adding an engine is a new folder plus one attribute in
its kind; nothing else in sign, verify, batch signing or the report changes.
"""
