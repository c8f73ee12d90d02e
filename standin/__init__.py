"""A local stand-in for the Telegram Bot API, for the tests, the benchmarks and the scale test."""
