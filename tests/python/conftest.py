import numpy as np
import pytest

import sessrec as sr


@pytest.fixture(scope="session")
def retail():
    return sr.datasets.load("online_retail")


@pytest.fixture(scope="session")
def retail_split(retail):
    return retail.split("time", valid=0.1, test=0.1)


@pytest.fixture(scope="session")
def small():
    """A small synthetic dataset with cold items in its last 10% of time."""
    return sr.datasets.synthetic(num_items=300, num_sessions=2000, seed=7, cold_share=0.1,
                                 cold_period=0.1)


@pytest.fixture(scope="session")
def small_split(small):
    return small.split("time", valid=0.1, test=0.1)


def write(path, text):
    path.write_text(text)
    return path
