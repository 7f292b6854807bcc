"""In-memory fakes of service adapters for tests where a server adds nothing."""
