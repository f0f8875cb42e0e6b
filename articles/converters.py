class SnapshotKeyConverter:
    """A 40-digit hexadecimal key; upper case is accepted and redirected to the canonical lower case."""

    regex = "[0-9a-fA-F]{40}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value
