"""A test whose result depends on the environment: reaching it means envlock found none of
the drift that could change it."""

import math


def test_sum_of_tenths() -> None:
    assert math.fsum([0.1] * 10) == 1.0
    assert sum([0.1] * 10) != 1.0  # plain float addition rounds at every step
