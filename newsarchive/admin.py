"""What the admin pages of several apps share."""

# The largest id a database holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def is_id(value: str) -> bool:
    """Whether an admin URL's object id can be a row's id: digits, within range. Anything else
    ("abc", a number past 64 bits) is "not found" without asking the database, which would fail on
    it in some lookups (an id that is a one-to-one key, simple-history's views) instead."""
    return value.isascii() and value.isdigit() and int(value) <= MAX_ID


class NumericIdAdmin:
    """A ModelAdmin mixin: an object id that cannot be one is "not found" (the admin's redirect to
    its index with a message), never a 500."""

    def get_object(self, request, object_id, from_field=None):
        if from_field is None and not is_id(str(object_id)):
            return None
        return super().get_object(request, object_id, from_field)
