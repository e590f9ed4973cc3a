"""Mark engines that live in the test suite, each in a folder of its own."""
