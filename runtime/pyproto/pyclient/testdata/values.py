"""Classes a Python client keeps in a manager's queue; the Go client sees them opaque."""
import dataclasses


@dataclasses.dataclass
class Point:
    x: int
    y: object = None


@dataclasses.dataclass(frozen=True)
class Key:
    a: int
    b: str


def sample():
    return [Point(1, 'x'), {'k': Point(2, (3, Point(4)))}, {Key(1, 'a'): 'v'}, (Key(2, 'b'),)]


class CustomError(Exception):
    """An exception class of the program's own (opaque to the Go client)."""
