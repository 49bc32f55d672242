def pytest_addoption(parser):
    parser.addoption("--mpconform", action="store", help="path to the built mpconform runner")
