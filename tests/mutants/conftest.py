import pytest


def pytest_addoption(parser):
    parser.addoption("--mpconform", action="store", help="path to the built mpconform runner")


@pytest.fixture(scope="module")
def mpconform(request):
    return request.config.getoption("--mpconform")
