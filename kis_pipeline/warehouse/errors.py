"""The warehouse's errors: a write that would break its contract, said in one line."""


class WarehouseError(Exception):
    """A write that would break the warehouse's contract; the message says what to fix."""


class SchemaMismatch(WarehouseError):
    pass
