"""A test whose result depends on the environment: reaching it means envlock found none of
the drift that could change it."""

import math
import sys


def test_sum_of_tenths() -> None:
    total = 0.0
    for tenth in [0.1] * 10:
        total += tenth  # plain float addition rounds at every step
    assert total != 1.0
    assert math.fsum([0.1] * 10) == 1.0  # correctly rounded
    # sum() itself gives 1.0 from Python 3.12 on (it compensates) and 0.9999999999999999
    # before: the same line of code, another number, which is why envlock records Python.
    assert (sum([0.1] * 10) == 1.0) == (sys.version_info >= (3, 12))
