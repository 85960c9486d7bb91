"""Local stand-ins and set-up shared by the benchmarks and the tests (bench never imports tests)."""
